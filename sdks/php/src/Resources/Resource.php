<?php

declare(strict_types=1);

namespace Mostrador\Resources;

use Mostrador\Http\Transport;

/** One group of routes; every method is one API call. */
abstract class Resource
{
    public function __construct(protected readonly Transport $transport)
    {
    }

    /** A path segment from an id or name the caller gave (never lets `/` or `?` through). */
    protected static function seg(string $value): string
    {
        if ($value === '') {
            throw new \InvalidArgumentException('an id or name must not be empty');
        }
        return rawurlencode($value);
    }

    /**
     * A JSON object even when empty (PHP's `[]` would encode as a JSON array).
     *
     * @param array<string, mixed> $value
     */
    protected static function object(array $value): array|\stdClass
    {
        return $value === [] ? new \stdClass() : $value;
    }

    /**
     * Drops null members: optional fields the caller did not give are not sent.
     *
     * @param array<string, mixed> $fields
     * @return array<string, mixed>
     */
    protected static function compact(array $fields): array
    {
        return array_filter($fields, static fn ($v) => $v !== null);
    }

    protected static function time(\DateTimeInterface|string|null $value): ?string
    {
        return $value instanceof \DateTimeInterface
            ? \DateTimeImmutable::createFromInterface($value)->setTimezone(new \DateTimeZone('UTC'))->format('Y-m-d\TH:i:s\Z')
            : $value;
    }
}
