<?php

declare(strict_types=1);

namespace Mostrador\Tests\Support;

use GuzzleHttp\Client as Guzzle;
use Mostrador\Client;
use PHPUnit\Framework\Assert;

/**
 * The running local stack (scripts/test-sdk.sh starts it and exports where it listens), and the
 * operator, sandbox and receiver calls the tests make beside the SDK. The SDK itself only ever
 * gets the project's API key.
 */
final class LocalStack
{
    private static ?Guzzle $http = null;

    public static function env(string $name): string
    {
        $value = getenv($name);
        if (!is_string($value) || $value === '') {
            Assert::fail("$name is not set: run scripts/test-sdk.sh (it starts the local stack and sets it)");
        }
        return $value;
    }

    public static function apiUrl(): string
    {
        return rtrim(self::env('MOSTRADOR_API_URL'), '/');
    }

    /** @param array<string, mixed> $options */
    public static function client(?string $apiKey = null, array $options = []): Client
    {
        return new Client($apiKey ?? self::env('MOSTRADOR_API_KEY'), self::apiUrl(), $options + ['timeout' => 30.0]);
    }

    /**
     * A plain HTTP call outside the SDK; JSON in and out.
     *
     * @param array<string, string> $headers
     * @return array{status: int, body: mixed, headers: array<string, string>}
     */
    public static function call(string $method, string $url, mixed $json = null, array $headers = []): array
    {
        self::$http ??= new Guzzle(['http_errors' => false, 'timeout' => 30]);
        $options = ['headers' => $headers];
        if ($json !== null) {
            $options['json'] = $json;
        }
        $response = self::$http->request($method, $url, $options);
        $flat = [];
        foreach ($response->getHeaders() as $name => $_) {
            $flat[strtolower($name)] = $response->getHeaderLine($name);
        }
        return ['status' => $response->getStatusCode(), 'body' => json_decode((string) $response->getBody(), true), 'headers' => $flat];
    }

    /** An operator call (`/admin/*`, bearer token locally). @return array{status: int, body: mixed, headers: array<string, string>} */
    public static function admin(string $method, string $path, mixed $json = null): array
    {
        return self::call($method, self::apiUrl() . $path, $json, ['Authorization' => 'Bearer ' . self::env('MOSTRADOR_OPERATOR_TOKEN')]);
    }

    /** A fresh project; returns [project id, API key]. @return array{string, string} */
    public static function newProject(string $name): array
    {
        $r = self::admin('POST', '/admin/projects', ['name' => $name, 'domain' => strtolower($name) . '.example.com', 'plan' => 'pro']);
        Assert::assertSame(201, $r['status'], json_encode($r['body']));
        return [$r['body']['project']['id'], $r['body']['api_key']['api_key']];
    }

    /** The demo project's id (what MOSTRADOR_API_KEY belongs to). */
    public static function projectId(): string
    {
        return self::client()->project()['id'];
    }

    /** Lets moto's SES send from a domain (in AWS: a verified SES identity). */
    public static function verifyMailDomain(string $domain): void
    {
        $r = self::call('POST', self::apiUrl() . '/_local/mail/identities/' . $domain);
        Assert::assertContains($r['status'], [200, 201], json_encode($r['body']));
    }

    /** @return list<array<string, mixed>> what moto's SES accepted */
    public static function sentMail(): array
    {
        return self::call('GET', self::apiUrl() . '/_local/mail')['body']['messages'] ?? [];
    }

    /** Requests the receiver sandbox recorded at a path, waiting for at least `$min`. @return list<array<string, mixed>> */
    public static function received(string $path, int $min, int $timeoutMs = 20000): array
    {
        $url = self::env('MOSTRADOR_RECEIVER_URL') . '/_receiver/requests?' . http_build_query(['path' => $path, 'min' => $min, 'timeout_ms' => $timeoutMs]);
        $body = self::call('GET', $url)['body'];
        return is_array($body) && array_is_list($body) ? $body : ($body['requests'] ?? []);
    }

    /**
     * Calls `$probe` until it returns a non-null value, for up to `$seconds`.
     *
     * @template T
     * @param callable(): (T|null) $probe
     * @return T
     */
    public static function eventually(callable $probe, float $seconds, string $what): mixed
    {
        $deadline = microtime(true) + $seconds;
        do {
            $value = $probe();
            if ($value !== null) {
                return $value;
            }
            usleep(200_000);
        } while (microtime(true) < $deadline);
        Assert::fail("timed out after {$seconds} s waiting for $what");
    }

    public static function unique(string $prefix): string
    {
        return $prefix . '-' . bin2hex(random_bytes(4));
    }
}
