<?php

declare(strict_types=1);

namespace Mostrador;

use GuzzleHttp\Client as GuzzleClient;
use GuzzleHttp\ClientInterface;
use Mostrador\Http\RetryPolicy;
use Mostrador\Http\Transport;
use Mostrador\Resources\Events;
use Mostrador\Resources\Notifications;
use Mostrador\Resources\Payments;
use Mostrador\Resources\Templates;
use Mostrador\Resources\WebhookDeliveries;
use Mostrador\Resources\WebhookEndpoints;

/**
 * The Mostrador API for one project (one API key).
 *
 *     $mostrador = new Mostrador\Client('mk_live_…', 'https://api.example.com');
 *     $mostrador->notifications()->sendEmail('ana@example.com', 'welcome', ['name' => 'Ana']);
 *
 * Resource groups are created on first use, so a shop that only sends notifications or events
 * never loads the payments code.
 */
final class Client
{
    public const VERSION = '0.1.0';

    private readonly Transport $transport;
    /** @var array<class-string, Resources\Resource> */
    private array $resources = [];

    /**
     * @param array{
     *     timeout?: float, connect_timeout?: float, max_retries?: int, retry_base_delay?: float,
     *     retry_max_delay?: float, max_retry_wait?: float, http_client?: ClientInterface,
     *     sleep?: callable(float): void, user_agent?: string
     * } $options `max_retries` (default 2) more attempts after a network error, 429 or 5xx;
     *   `max_retry_wait` (default 30 s): a longer Retry-After is not waited for
     */
    public function __construct(string $apiKey, string $baseUrl, array $options = [])
    {
        if (trim($apiKey) === '') {
            throw new \InvalidArgumentException('the API key is empty');
        }
        if (!preg_match('#^https?://[^/]+#', $baseUrl)) {
            throw new \InvalidArgumentException('the base URL must start with http:// or https://');
        }
        $http = $options['http_client'] ?? new GuzzleClient([
            'timeout' => $options['timeout'] ?? 15.0,
            'connect_timeout' => $options['connect_timeout'] ?? 5.0,
        ]);
        $retry = new RetryPolicy(
            $options['max_retries'] ?? 2,
            $options['retry_base_delay'] ?? 0.5,
            $options['retry_max_delay'] ?? 8.0,
            $options['max_retry_wait'] ?? 30.0,
        );
        $agent = $options['user_agent'] ?? sprintf('mostrador-php/%s PHP/%s', self::VERSION, PHP_VERSION);
        $this->transport = new Transport($http, rtrim($baseUrl, '/'), $apiKey, $retry, $agent, $options['sleep'] ?? null);
    }

    /** From `MOSTRADOR_API_KEY` and `MOSTRADOR_API_URL`. */
    public static function fromEnv(array $options = []): self
    {
        $key = getenv('MOSTRADOR_API_KEY');
        $url = getenv('MOSTRADOR_API_URL');
        if (!is_string($key) || $key === '' || !is_string($url) || $url === '') {
            throw new \InvalidArgumentException('set MOSTRADOR_API_KEY and MOSTRADOR_API_URL');
        }
        return new self($key, $url, $options);
    }

    /**
     * From a config array like `config/mostrador.php`: `api_key`, `api_url`, `timeout`, `max_retries`.
     *
     * @param array<string, mixed> $config
     */
    public static function fromConfig(array $config): self
    {
        $options = [];
        foreach (['timeout' => 'floatval', 'connect_timeout' => 'floatval', 'max_retries' => 'intval'] as $name => $cast) {
            if (isset($config[$name]) && $config[$name] !== '') {
                $options[$name] = $cast($config[$name]);
            }
        }
        return new self((string) ($config['api_key'] ?? ''), (string) ($config['api_url'] ?? ''), $options);
    }

    public function notifications(): Notifications
    {
        return $this->resource(Notifications::class);
    }

    public function templates(): Templates
    {
        return $this->resource(Templates::class);
    }

    public function events(): Events
    {
        return $this->resource(Events::class);
    }

    public function webhookEndpoints(): WebhookEndpoints
    {
        return $this->resource(WebhookEndpoints::class);
    }

    public function webhookDeliveries(): WebhookDeliveries
    {
        return $this->resource(WebhookDeliveries::class);
    }

    public function payments(): Payments
    {
        return $this->resource(Payments::class);
    }

    /** `GET /v1/project`: this key's project with its limits, flags and usage. @return array<string, mixed> */
    public function project(): array
    {
        return $this->transport->request('GET', '/v1/project') ?? [];
    }

    /**
     * @template T of Resources\Resource
     * @param class-string<T> $class
     * @return T
     */
    private function resource(string $class): Resources\Resource
    {
        return $this->resources[$class] ??= new $class($this->transport);
    }
}
