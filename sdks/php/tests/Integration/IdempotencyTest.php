<?php

declare(strict_types=1);

namespace Mostrador\Tests\Integration;

use Mostrador\Exceptions\ConflictException;
use Mostrador\Tests\Support\LocalStack;
use PHPUnit\Framework\TestCase;

/**
 * POSTs are safe to retry: a replayed key returns the same resource, and the client's own
 * retries through a real outage (DynamoDB Local stopped: 503 `storage_unavailable` with
 * Retry-After) reuse the key and end in one stored resource.
 */
final class IdempotencyTest extends TestCase
{
    public function testAReplayedKeyReturnsTheSameNotification(): void
    {
        LocalStack::verifyMailDomain('demo-shop.example.com');
        $client = LocalStack::client();
        $template = LocalStack::unique('receipt');
        $client->templates()->putEmail($template, 'Recibo', null, 'Gracias');
        $to = LocalStack::unique('buyer') . '@example.com';
        $key = LocalStack::unique('receipt-key');

        $first = $client->notifications()->sendEmail($to, $template, idempotencyKey: $key);
        $second = $client->notifications()->sendEmail($to, $template, idempotencyKey: $key);
        self::assertSame($first['id'], $second['id']);
        self::assertCount(1, $client->notifications()->list(template: $template)->data);

        $this->expectException(ConflictException::class);
        $this->expectExceptionMessage('idempotency_key_reused');
        $client->notifications()->sendEmail('other-' . $to, $template, idempotencyKey: $key);
    }

    public function testTheClientRetriesThroughAnOutageWithOneKey(): void
    {
        $api = LocalStack::apiUrl();
        $slept = [];
        $client = LocalStack::client(null, ['max_retries' => 3, 'sleep' => function (float $s) use (&$slept, $api): void {
            $slept[] = $s;
            if (count($slept) === 1) {
                // The outage ends while the client waits.
                LocalStack::call('POST', "$api/_local/emulators/dynamodb/start");
            }
            usleep((int) ($s * 1_000_000));
        }]);
        $type = 'outage.' . bin2hex(random_bytes(3));
        $stopped = LocalStack::call('POST', "$api/_local/emulators/dynamodb/stop");
        self::assertSame(false, $stopped['body']['running'] ?? null);
        try {
            $accepted = $client->events()->post($type, ['n' => 1]);
        } finally {
            LocalStack::call('POST', "$api/_local/emulators/dynamodb/start");
        }
        self::assertSame(1.0, $slept[0], 'the first wait is the server\'s Retry-After');
        self::assertSame([$accepted['id']], array_column($client->events()->list(type: $type)->data, 'id'));
    }
}
