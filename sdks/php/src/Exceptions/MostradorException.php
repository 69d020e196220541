<?php

declare(strict_types=1);

namespace Mostrador\Exceptions;

/**
 * Base of every error the SDK throws. For API errors it carries the RFC 9457 problem+json
 * fields Mostrador answers with; switch on {@see getErrorCode()} (stable), show {@see getDetail()}.
 * `getCode()` is the HTTP status (0 when no response arrived).
 */
class MostradorException extends \RuntimeException
{
    /** @param array<string, mixed> $problem the decoded problem+json body (empty if none) */
    public function __construct(
        string $message,
        private readonly ?int $status = null,
        private readonly array $problem = [],
        private readonly array $headers = [],
        ?\Throwable $previous = null,
    ) {
        parent::__construct($message, $status ?? 0, $previous);
    }

    /**
     * The exception class for an HTTP error answer.
     *
     * @param array<string, mixed> $problem
     * @param array<string, string> $headers lower-cased names
     */
    public static function fromResponse(int $status, array $problem, array $headers): self
    {
        $code = is_string($problem['code'] ?? null) ? $problem['code'] : 'http_' . $status;
        $detail = is_string($problem['detail'] ?? null) ? $problem['detail'] : 'HTTP ' . $status;
        $message = sprintf('%s (%d %s)', $detail, $status, $code);
        $class = match (true) {
            $status === 401 => AuthenticationException::class,
            $status === 403 => PermissionException::class,
            $status === 404 => NotFoundException::class,
            $status === 409 => ConflictException::class,
            $status === 422 => ValidationException::class,
            $status === 429 => RateLimitException::class,
            $status >= 500 => ServerException::class,
            default => BadRequestException::class,
        };
        return new $class($message, $status, $problem, $headers);
    }

    /** HTTP status of the answer, or null when no answer arrived (network error). */
    public function getStatus(): ?int
    {
        return $this->status;
    }

    /** Stable machine code (`validation_failed`, `api_key_invalid`, …). */
    public function getErrorCode(): ?string
    {
        return self::str($this->problem['code'] ?? null);
    }

    /** `urn:mostrador:problem:<code>`. */
    public function getType(): ?string
    {
        return self::str($this->problem['type'] ?? null);
    }

    public function getTitle(): ?string
    {
        return self::str($this->problem['title'] ?? null);
    }

    public function getDetail(): ?string
    {
        return self::str($this->problem['detail'] ?? null);
    }

    /** Quote it when reporting a problem (also the `X-Request-Id` header). */
    public function getRequestId(): ?string
    {
        return self::str($this->problem['request_id'] ?? null) ?? ($this->headers['x-request-id'] ?? null);
    }

    /** @return array<string, mixed> the whole problem+json body */
    public function getProblem(): array
    {
        return $this->problem;
    }

    /** @return array<string, string> response headers, lower-cased names */
    public function getHeaders(): array
    {
        return $this->headers;
    }

    private static function str(mixed $value): ?string
    {
        return is_string($value) ? $value : null;
    }
}
