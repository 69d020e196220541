<?php

declare(strict_types=1);

namespace Mostrador\Tests\Unit;

use GuzzleHttp\Client as Guzzle;
use GuzzleHttp\Handler\MockHandler;
use GuzzleHttp\HandlerStack;
use GuzzleHttp\Psr7\Response;
use Mostrador\Client;
use PHPUnit\Framework\TestCase;

/**
 * The SDK core in plain PHP: no Laravel, and no payments code for a shop that only sends
 * notifications and events. Each test runs in a fresh PHP process so "not loaded" means it.
 *
 * @runTestsInSeparateProcesses
 * @preserveGlobalState disabled
 */
final class StandaloneTest extends TestCase
{
    private static function client(int $answers): Client
    {
        $ok = fn () => new Response(202, [], '{"id":"x","status":"pending","duplicate":false,"deliveries":0}');
        $handler = new MockHandler(array_map($ok, range(1, $answers)));
        return new Client('mk_live_test', 'http://mostrador.test', ['http_client' => new Guzzle(['handler' => HandlerStack::create($handler)])]);
    }

    /** @return list<string> files of this package that PHP has loaded, relative to src/ */
    private static function loadedSdkFiles(): array
    {
        $src = realpath(__DIR__ . '/../../src') . '/';
        $files = array_filter(get_included_files(), fn ($f) => str_starts_with($f, $src));
        return array_values(array_map(fn ($f) => substr($f, strlen($src)), $files));
    }

    public function testNotificationsAndEventsNeverLoadThePaymentsCode(): void
    {
        $client = self::client(3);
        $client->notifications()->sendEmail('ana@example.com', 'welcome', ['name' => 'Ana']);
        $client->events()->post('order.created', ['order_id' => 'A-1']);
        self::assertFalse(class_exists(\Mostrador\Resources\Payments::class, false));
        self::assertNotContains('Resources/Payments.php', self::loadedSdkFiles());
        self::assertContains('Resources/Notifications.php', self::loadedSdkFiles());
        // The check can fail: using payments does load it.
        $client->payments()->create('A-1', 100, 'ARS');
        self::assertContains('Resources/Payments.php', self::loadedSdkFiles());
    }

    public function testWithoutLaravelTheIntegrationDefinesNothingAndTheCoreWorks(): void
    {
        self::assertFalse(class_exists(\Illuminate\Support\ServiceProvider::class));
        self::assertFalse(class_exists(\Illuminate\Support\Facades\Facade::class));
        // The autoloader finds and runs the files; their guard returns before declaring anything.
        self::assertFalse(class_exists(\Mostrador\Laravel\MostradorServiceProvider::class));
        self::assertFalse(class_exists(\Mostrador\Laravel\Facades\Mostrador::class));
        self::assertContains('Laravel/MostradorServiceProvider.php', self::loadedSdkFiles());
        self::assertSame('x', self::client(1)->events()->post('order.created', [])['id']);
    }
}
