<?php

declare(strict_types=1);

namespace Mostrador\Http;

use Psr\Http\Message\ResponseInterface;

/**
 * When and how long to wait before trying a request again. Retried: no answer at all
 * (connection refused, timeout), 429 and 5xx (the transport narrows this for PUT, PATCH and
 * DELETE, which carry no Idempotency-Key). Bounded: at most `maxRetries` more attempts, and a
 * server asking to wait longer than `maxWait` seconds is not waited for (the error is thrown).
 */
final class RetryPolicy
{
    public function __construct(
        public readonly int $maxRetries = 2,
        public readonly float $baseDelay = 0.5,
        public readonly float $maxDelay = 8.0,
        public readonly float $maxWait = 30.0,
    ) {
        if ($maxRetries < 0 || $baseDelay < 0 || $maxDelay < 0 || $maxWait < 0) {
            throw new \InvalidArgumentException('retry settings must not be negative');
        }
    }

    public static function retryableStatus(int $status): bool
    {
        return $status === 429 || $status >= 500;
    }

    /**
     * Seconds to wait before retry number `$retry` (1 for the first retry), or null when no
     * more retries should be made.
     *
     * @param ResponseInterface|null $response the failed answer; null for a network error
     */
    public function delay(int $retry, ?ResponseInterface $response, ?int $now = null): ?float
    {
        if ($retry > $this->maxRetries) {
            return null;
        }
        if ($response !== null) {
            if (!self::retryableStatus($response->getStatusCode())) {
                return null;
            }
            $asked = self::serverDelay($response, $now ?? time());
            if ($asked !== null) {
                return $asked <= $this->maxWait ? $asked : null;
            }
        }
        $exponential = min($this->maxDelay, $this->baseDelay * (2 ** ($retry - 1)));
        // "Equal jitter": half fixed, half random, so concurrent clients spread out.
        return $exponential / 2 + $exponential / 2 * (mt_rand() / mt_getrandmax());
    }

    /** `Retry-After` (seconds or an HTTP date), else `RateLimit-Reset` (seconds), else null. */
    public static function serverDelay(ResponseInterface $response, int $now): ?float
    {
        $retryAfter = trim($response->getHeaderLine('Retry-After'));
        if ($retryAfter !== '') {
            if (ctype_digit($retryAfter)) {
                return (float) $retryAfter;
            }
            $at = strtotime($retryAfter);
            if ($at !== false) {
                return (float) max(0, $at - $now);
            }
        }
        $reset = trim($response->getHeaderLine('RateLimit-Reset'));
        if ($response->getStatusCode() === 429 && ctype_digit($reset)) {
            return (float) $reset;
        }
        return null;
    }
}
