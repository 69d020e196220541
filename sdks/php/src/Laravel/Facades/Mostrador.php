<?php

declare(strict_types=1);

namespace Mostrador\Laravel\Facades;

// Declared only inside a Laravel application (see MostradorServiceProvider).
if (!class_exists(\Illuminate\Support\Facades\Facade::class)) {
    return;
}

/**
 * `Mostrador::notifications()->sendEmail(…)` in a Laravel application.
 *
 * @method static \Mostrador\Resources\Notifications notifications()
 * @method static \Mostrador\Resources\Templates templates()
 * @method static \Mostrador\Resources\Events events()
 * @method static \Mostrador\Resources\WebhookEndpoints webhookEndpoints()
 * @method static \Mostrador\Resources\WebhookDeliveries webhookDeliveries()
 * @method static \Mostrador\Resources\Payments payments()
 * @method static array project()
 *
 * @see \Mostrador\Client
 */
final class Mostrador extends \Illuminate\Support\Facades\Facade
{
    protected static function getFacadeAccessor(): string
    {
        return \Mostrador\Client::class;
    }
}
