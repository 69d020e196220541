<?php

declare(strict_types=1);

namespace Mostrador\Exceptions;

/** HTTP 422: well-formed but invalid input; {@see getErrors()} lists every offending field. */
class ValidationException extends MostradorException
{
    /** @return list<array{field: string, code: string, message: string}> */
    public function getErrors(): array
    {
        $errors = $this->getProblem()['errors'] ?? [];
        return is_array($errors) ? array_values(array_filter($errors, 'is_array')) : [];
    }

    /** @return array<string, string> field path => field error code */
    public function getFieldCodes(): array
    {
        $codes = [];
        foreach ($this->getErrors() as $error) {
            $codes[(string) ($error['field'] ?? '')] = (string) ($error['code'] ?? '');
        }
        return $codes;
    }
}
