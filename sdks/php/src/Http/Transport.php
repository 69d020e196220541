<?php

declare(strict_types=1);

namespace Mostrador\Http;

use GuzzleHttp\ClientInterface;
use GuzzleHttp\Exception\GuzzleException;
use GuzzleHttp\RequestOptions;
use Mostrador\Exceptions\MostradorException;
use Mostrador\Exceptions\NetworkException;
use Psr\Http\Message\ResponseInterface;

/**
 * Sends one logical API call: JSON in and out, the API key, an `Idempotency-Key` on every POST
 * (one per logical call, the same on each retry, so a retried POST never acts twice), bounded
 * retries, and problem+json answers turned into exceptions.
 */
final class Transport
{
    /** @var callable(float): void */
    private $sleep;

    public function __construct(
        private readonly ClientInterface $http,
        private readonly string $baseUrl,
        private readonly string $apiKey,
        private readonly RetryPolicy $retry,
        private readonly string $userAgent,
        ?callable $sleep = null,
    ) {
        $this->sleep = $sleep ?? static function (float $seconds): void {
            usleep((int) round($seconds * 1_000_000));
        };
    }

    /**
     * @param array<string, scalar|null> $query null values are left out
     * @return array<string, mixed>|null the decoded JSON answer (null for 204)
     */
    public function request(
        string $method,
        string $path,
        array $query = [],
        mixed $body = null,
        ?string $idempotencyKey = null,
    ): ?array {
        $options = [
            RequestOptions::HTTP_ERRORS => false,
            RequestOptions::ALLOW_REDIRECTS => false,
            RequestOptions::HEADERS => [
                'X-API-KEY' => $this->apiKey,
                'Accept' => 'application/json',
                'User-Agent' => $this->userAgent,
            ],
        ];
        $query = array_filter($query, static fn ($v) => $v !== null);
        if ($query !== []) {
            $options[RequestOptions::QUERY] = array_map(
                static fn ($v) => is_bool($v) ? ($v ? 'true' : 'false') : (string) $v,
                $query,
            );
        }
        if ($body !== null) {
            $options[RequestOptions::BODY] = json_encode(
                $body,
                JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE,
            );
            $options[RequestOptions::HEADERS]['Content-Type'] = 'application/json';
        }
        if ($method === 'POST') {
            $options[RequestOptions::HEADERS]['Idempotency-Key'] = $idempotencyKey ?? self::newIdempotencyKey();
        }
        $response = $this->send($method, $this->baseUrl . $path, $options);
        return $this->decode($response);
    }

    /** A fresh key: 32 hex characters from the system CSPRNG. */
    public static function newIdempotencyKey(): string
    {
        return 'sdk-' . bin2hex(random_bytes(16));
    }

    /** @param array<string, mixed> $options */
    private function send(string $method, string $url, array $options): ResponseInterface
    {
        for ($retry = 1;; $retry++) {
            // GET is safe and every POST carries an Idempotency-Key, so both retry on any
            // failure. PUT (a new template version), PATCH and DELETE have no key: they retry
            // only when the request cannot have been acted on (no connection, or 429).
            $keyless = !in_array($method, ['GET', 'HEAD', 'POST'], true);
            try {
                $response = $this->http->request($method, $url, $options);
            } catch (GuzzleException $e) {
                $unsent = $e instanceof \GuzzleHttp\Exception\ConnectException;
                $delay = $keyless && !$unsent ? null : $this->retry->delay($retry, null);
                if ($delay === null) {
                    throw new NetworkException(
                        sprintf('no answer from %s %s: %s', $method, $url, $e->getMessage()),
                        null,
                        [],
                        [],
                        $e,
                    );
                }
                ($this->sleep)($delay);
                continue;
            }
            if ($response->getStatusCode() < 400) {
                return $response;
            }
            $delay = $keyless && $response->getStatusCode() !== 429
                ? null
                : $this->retry->delay($retry, $response);
            if ($delay === null) {
                return $response;
            }
            ($this->sleep)($delay);
        }
    }

    /** @return array<string, mixed>|null */
    private function decode(ResponseInterface $response): ?array
    {
        $status = $response->getStatusCode();
        $text = (string) $response->getBody();
        $json = $text === '' ? null : json_decode($text, true);
        if ($status >= 400) {
            $headers = [];
            foreach ($response->getHeaders() as $name => $_) {
                $headers[strtolower($name)] = $response->getHeaderLine($name);
            }
            throw MostradorException::fromResponse($status, is_array($json) ? $json : [], $headers);
        }
        if ($status === 204 || $text === '') {
            return null;
        }
        if (!is_array($json)) {
            throw new MostradorException(sprintf('HTTP %d: the answer is not JSON', $status), $status);
        }
        return $json;
    }
}
