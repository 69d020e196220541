<?php

declare(strict_types=1);

namespace Mostrador\Laravel;

use Mostrador\Client;
use Mostrador\Webhooks\WebhookVerifier;

// Declared only inside a Laravel application: without Illuminate this file defines nothing, so
// the SDK works (and class scanners do not fail) in plain PHP.
if (!class_exists(\Illuminate\Support\ServiceProvider::class)) {
    return;
}

/**
 * Auto-discovered (composer.json `extra.laravel`): binds the Client (also as `mostrador`) and,
 * when `MOSTRADOR_WEBHOOK_SECRET` is set, a WebhookVerifier, as singletons built from
 * `config/mostrador.php`.
 */
final class MostradorServiceProvider extends \Illuminate\Support\ServiceProvider
{
    public function register(): void
    {
        $this->mergeConfigFrom(__DIR__ . '/../../config/mostrador.php', 'mostrador');
        $this->app->singleton(Client::class, static fn ($app) => Client::fromConfig((array) $app['config']['mostrador']));
        $this->app->alias(Client::class, 'mostrador');
        $this->app->singleton(WebhookVerifier::class, static function ($app): WebhookVerifier {
            $secret = (string) ($app['config']['mostrador.webhook_secret'] ?? '');
            if ($secret === '') {
                throw new \RuntimeException('set MOSTRADOR_WEBHOOK_SECRET to verify webhooks');
            }
            return new WebhookVerifier($secret);
        });
    }

    public function boot(): void
    {
        $this->publishes([__DIR__ . '/../../config/mostrador.php' => $this->app->configPath('mostrador.php')], 'mostrador-config');
    }

    /** @return list<string> */
    public function provides(): array
    {
        return [Client::class, 'mostrador', WebhookVerifier::class];
    }
}
