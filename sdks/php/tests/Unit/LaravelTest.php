<?php

declare(strict_types=1);

namespace Mostrador\Tests\Unit;

use Mostrador\Client;
use Mostrador\Laravel\Facades\Mostrador;
use Mostrador\Laravel\MostradorServiceProvider;
use Mostrador\Webhooks\WebhookVerifier;
use PHPUnit\Framework\TestCase;

/**
 * The Laravel integration against stand-ins of the Illuminate classes it extends (Laravel is not
 * installable here): config merged with env() defaults, singletons, the alias and the facade.
 *
 * @runTestsInSeparateProcesses
 * @preserveGlobalState disabled
 */
final class LaravelTest extends TestCase
{
    private function app(): object
    {
        require_once __DIR__ . '/../fixtures/illuminate-stubs.php';
        return new class () implements \ArrayAccess {
            private array $bindings = [];
            private array $instances = [];
            private array $aliases = [];

            public function __construct()
            {
                $this->instances['config'] = new class () {
                    private array $items = [];

                    public function get(string $key, $default = null)
                    {
                        $value = $this->items;
                        foreach (explode('.', $key) as $part) {
                            if (!is_array($value) || !array_key_exists($part, $value)) {
                                return $default;
                            }
                            $value = $value[$part];
                        }
                        return $value;
                    }

                    public function set(string $key, $value): void
                    {
                        $this->items[$key] = $value;
                    }
                };
            }

            public function singleton(string $abstract, \Closure $concrete): void
            {
                $this->bindings[$abstract] = $concrete;
            }

            public function alias(string $abstract, string $alias): void
            {
                $this->aliases[$alias] = $abstract;
            }

            public function make(string $abstract)
            {
                $abstract = $this->aliases[$abstract] ?? $abstract;
                return $this->instances[$abstract] ??= ($this->bindings[$abstract])($this);
            }

            public function configPath(string $path = ''): string
            {
                return '/app/config/' . $path;
            }

            public function offsetGet(mixed $key): mixed
            {
                return $key === 'config' ? new class ($this->make('config')) implements \ArrayAccess {
                    public function __construct(private $config)
                    {
                    }

                    public function offsetGet(mixed $key): mixed
                    {
                        return $this->config->get($key);
                    }

                    public function offsetExists(mixed $key): bool
                    {
                        return $this->config->get($key) !== null;
                    }

                    public function offsetSet(mixed $key, mixed $value): void
                    {
                    }

                    public function offsetUnset(mixed $key): void
                    {
                    }
                } : $this->make($key);
            }

            public function offsetExists(mixed $key): bool
            {
                return true;
            }

            public function offsetSet(mixed $key, mixed $value): void
            {
            }

            public function offsetUnset(mixed $key): void
            {
            }
        };
    }

    public function testTheProviderBindsAClientFromEnvAndTheFacadeReachesIt(): void
    {
        putenv('MOSTRADOR_API_KEY=mk_live_from_env');
        putenv('MOSTRADOR_API_URL=http://127.0.0.1:9');
        putenv('MOSTRADOR_MAX_RETRIES=0');
        putenv('MOSTRADOR_WEBHOOK_SECRET=whsec_' . base64_encode('0123456789abcdef0123456789abcdef'));
        $app = $this->app();
        $provider = new MostradorServiceProvider($app);
        $provider->register();
        $provider->boot();

        self::assertSame('mk_live_from_env', $app->make('config')->get('mostrador')['api_key']);
        self::assertSame('0', $app->make('config')->get('mostrador')['max_retries']);
        self::assertSame(15, $app->make('config')->get('mostrador')['timeout']);
        $client = $app->make(Client::class);
        self::assertInstanceOf(Client::class, $client);
        self::assertSame($client, $app->make('mostrador'));
        self::assertInstanceOf(WebhookVerifier::class, $app->make(WebhookVerifier::class));
        self::assertSame(['/app/config/mostrador.php'], array_values(MostradorServiceProvider::$publishes['mostrador-config']));

        Mostrador::setFacadeApplication($app);
        self::assertInstanceOf(\Mostrador\Resources\Events::class, Mostrador::events());
        // The facade's client calls the configured URL (nothing listens on port 9), without retries.
        try {
            Mostrador::project();
            self::fail('no exception');
        } catch (\Mostrador\Exceptions\NetworkException $e) {
            self::assertStringContainsString('http://127.0.0.1:9/v1/project', $e->getMessage());
        }
    }

    public function testAppConfigOverridesTheDefaults(): void
    {
        putenv('MOSTRADOR_API_URL');
        $app = $this->app();
        $app->make('config')->set('mostrador', ['api_key' => 'mk_live_app', 'max_retries' => 0]);
        (new MostradorServiceProvider($app))->register();
        $config = $app->make('config')->get('mostrador');
        self::assertSame('mk_live_app', $config['api_key']);
        self::assertSame(0, $config['max_retries']);
        self::assertSame('http://127.0.0.1:3100', $config['api_url']);
        $this->expectExceptionMessage('MOSTRADOR_WEBHOOK_SECRET');
        $app->make(WebhookVerifier::class);
    }
}
