<?php

declare(strict_types=1);

namespace Mostrador\Webhooks;

use Mostrador\Exceptions\WebhookVerificationException;

/**
 * Verifies Standard Webhooks signatures (what Mostrador sends): the HMAC-SHA256 of
 * `{webhook-id}.{webhook-timestamp}.{raw body}` with the endpoint's `whsec_` secret, base64, in
 * `webhook-signature` as space-separated `v1,<signature>` entries (several during a secret
 * rotation: any one matching is enough). Timestamps more than 5 minutes away from now are refused,
 * so a captured request cannot be replayed later. Pass the RAW body: re-encoded JSON does not match.
 *
 *     $verifier = new WebhookVerifier(getenv('MOSTRADOR_WEBHOOK_SECRET'));
 *     $event = $verifier->verify(file_get_contents('php://input'), getallheaders());
 */
final class WebhookVerifier
{
    private const PREFIX = 'whsec_';

    private readonly string $key;

    public function __construct(string $secret, private readonly int $toleranceSeconds = 300)
    {
        if (str_starts_with($secret, self::PREFIX)) {
            $secret = substr($secret, strlen(self::PREFIX));
        }
        $key = base64_decode($secret, true);
        if ($key === false || $key === '') {
            throw new \InvalidArgumentException('the webhook secret must be "whsec_" followed by base64');
        }
        $this->key = $key;
    }

    /**
     * Checks the headers against the raw body and returns the decoded JSON payload.
     *
     * @param array<string, string|list<string>> $headers any case; PSR-7 `getHeaders()`,
     *   `getallheaders()` and `$_SERVER` (`HTTP_WEBHOOK_ID`) shapes are accepted
     * @return array<string, mixed>
     * @throws WebhookVerificationException
     */
    public function verify(string $payload, array $headers, ?int $now = null): array
    {
        $this->verifySignature($payload, $headers, $now);
        try {
            $decoded = json_decode($payload, true, 512, JSON_THROW_ON_ERROR);
        } catch (\JsonException $e) {
            throw new WebhookVerificationException('the payload is not JSON', null, [], [], $e);
        }
        if (!is_array($decoded)) {
            throw new WebhookVerificationException('the payload is not a JSON object');
        }
        return $decoded;
    }

    /**
     * Like verify(), without decoding the body.
     *
     * @param array<string, string|list<string>> $headers
     * @throws WebhookVerificationException
     */
    public function verifySignature(string $payload, array $headers, ?int $now = null): void
    {
        $id = self::header($headers, 'webhook-id');
        $timestamp = self::header($headers, 'webhook-timestamp');
        $signatures = self::header($headers, 'webhook-signature');
        if ($id === null || $timestamp === null || $signatures === null) {
            throw new WebhookVerificationException('missing webhook-id, webhook-timestamp or webhook-signature');
        }
        if (!preg_match('/^\d{1,12}$/', $timestamp)) {
            throw new WebhookVerificationException('webhook-timestamp is not a Unix time');
        }
        $age = ($now ?? time()) - (int) $timestamp;
        if ($age > $this->toleranceSeconds) {
            throw new WebhookVerificationException('webhook-timestamp is too old');
        }
        if ($age < -$this->toleranceSeconds) {
            throw new WebhookVerificationException('webhook-timestamp is in the future');
        }
        $expected = $this->signature($id, (int) $timestamp, $payload);
        $matched = false;
        foreach (preg_split('/ +/', trim($signatures)) ?: [] as $entry) {
            [$version, $signature] = array_pad(explode(',', $entry, 2), 2, '');
            // No early exit: every entry is compared, in constant time each.
            if ($version === 'v1' && hash_equals($expected, $signature)) {
                $matched = true;
            }
        }
        if (!$matched) {
            throw new WebhookVerificationException('no matching signature');
        }
    }

    /** The `webhook-signature` value for a message (`v1,<base64>`): for tests and senders. */
    public function sign(string $id, int $timestamp, string $payload): string
    {
        return 'v1,' . $this->signature($id, $timestamp, $payload);
    }

    private function signature(string $id, int $timestamp, string $payload): string
    {
        return base64_encode(hash_hmac('sha256', $id . '.' . $timestamp . '.' . $payload, $this->key, true));
    }

    /** @param array<string, string|list<string>> $headers */
    private static function header(array $headers, string $name): ?string
    {
        $server = 'HTTP_' . strtoupper(str_replace('-', '_', $name));
        foreach ($headers as $key => $value) {
            if (strcasecmp((string) $key, $name) === 0 || $key === $server) {
                $value = is_array($value) ? implode(' ', $value) : (string) $value;
                return trim($value) === '' ? null : trim($value);
            }
        }
        return null;
    }
}
