<?php

declare(strict_types=1);

namespace Mostrador\Exceptions;

/** HTTP 429 (`rate_limited`, `quota_exceeded`) still failing after the client's retries. */
class RateLimitException extends MostradorException
{
    /** Seconds the server asked to wait (`Retry-After`), when it said. */
    public function getRetryAfter(): ?int
    {
        $value = $this->getHeaders()['retry-after'] ?? null;
        return $value !== null && ctype_digit(trim($value)) ? (int) trim($value) : null;
    }
}
