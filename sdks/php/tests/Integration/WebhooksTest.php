<?php

declare(strict_types=1);

namespace Mostrador\Tests\Integration;

use Mostrador\Exceptions\NotFoundException;
use Mostrador\Exceptions\WebhookVerificationException;
use Mostrador\Tests\Support\LocalStack;
use Mostrador\Webhooks\WebhookVerifier;
use PHPUnit\Framework\TestCase;

/**
 * Events posted through the SDK reach an endpoint on the receiver sandbox, and the SDK's verifier
 * accepts the real signed deliveries (and refuses them once tampered with). Each test has its own
 * project, so no other test's endpoints receive (or count among) its deliveries.
 */
final class WebhooksTest extends TestCase
{
    private static function freshClient(): \Mostrador\Client
    {
        [, $key] = LocalStack::newProject(LocalStack::unique('Hooks'));
        return LocalStack::client($key);
    }

    /** @return array{string, array<string, string>} raw body and headers of a recorded request */
    private static function raw(array $request): array
    {
        $headers = [];
        foreach ($request['headers'] as [$name, $value]) {
            $headers[$name] = $value;
        }
        return [base64_decode($request['body_base64'], true), $headers];
    }

    public function testAnEventIsDeliveredSignedAndTheVerifierAcceptsIt(): void
    {
        $client = self::freshClient();
        $path = '/hooks/' . LocalStack::unique('sdk');
        $endpoint = $client->webhookEndpoints()->create(LocalStack::env('MOSTRADOR_RECEIVER_URL') . $path, ['order.*'], 'php sdk test');
        self::assertStringStartsWith('whe_', $endpoint['id']);
        self::assertStringStartsWith('whsec_', $endpoint['secret']);
        self::assertContains($endpoint['id'], array_column($client->webhookEndpoints()->list()->data, 'id'));
        self::assertArrayNotHasKey('secret', $client->webhookEndpoints()->get($endpoint['id']));

        $orderId = LocalStack::unique('A');
        $accepted = $client->events()->post('order.created', ['order_id' => $orderId, 'total' => 125000], eventId: $orderId . '-created');
        self::assertFalse($accepted['duplicate']);
        self::assertSame(1, $accepted['deliveries']);
        $again = $client->events()->post('order.created', ['order_id' => $orderId, 'total' => 125000], eventId: $orderId . '-created');
        self::assertTrue($again['duplicate']);
        self::assertSame($accepted['id'], $again['id']);

        $requests = LocalStack::received($path, 1);
        self::assertCount(1, $requests);
        [$body, $headers] = self::raw($requests[0]);
        $event = (new WebhookVerifier($endpoint['secret']))->verify($body, $headers);
        self::assertSame('order.created', $event['type']);
        self::assertSame(['order_id' => $orderId, 'total' => 125000], $event['data']);
        self::assertSame($accepted['id'], array_change_key_case($headers)['webhook-id']);

        foreach (['tampered body' => [$body . ' ', $endpoint['secret']], 'other secret' => [$body, 'whsec_' . base64_encode(random_bytes(32))]] as $case => [$payload, $secret]) {
            try {
                (new WebhookVerifier($secret))->verify($payload, $headers);
                self::fail("$case was accepted");
            } catch (WebhookVerificationException) {
            }
        }

        $stored = $client->events()->get($accepted['id']);
        self::assertSame($orderId . '-created', $stored['event_id']);
        self::assertSame([$endpoint['id']], array_column($stored['deliveries'], 'endpoint_id'));
        self::assertContains($accepted['id'], array_column($client->events()->list(type: 'order.created')->data, 'id'));

        $delivery = LocalStack::eventually(function () use ($client, $accepted) {
            $d = $client->webhookDeliveries()->list(eventId: $accepted['id'])->data;
            return ($d[0]['status'] ?? null) === 'succeeded' ? $d[0] : null;
        }, 20, 'the delivery to succeed');
        $detail = $client->webhookDeliveries()->get($delivery['id']);
        self::assertSame(200, $detail['attempt_log'][0]['status_code'] ?? $detail['last_status_code']);

        $client->webhookDeliveries()->retry($delivery['id']);
        $requests = LocalStack::received($path, 2);
        self::assertCount(2, $requests);
        [$body2, $headers2] = self::raw($requests[1]);
        self::assertSame('order.created', (new WebhookVerifier($endpoint['secret']))->verify($body2, $headers2)['type']);
        // Same webhook-id on a redelivery (shops deduplicate on it), a fresh timestamp.
        self::assertSame($accepted['id'], array_change_key_case($headers2)['webhook-id']);
    }

    public function testEndpointsAreManagedAndRotationSignsWithBothSecrets(): void
    {
        $client = self::freshClient();
        $path = '/hooks/' . LocalStack::unique('rotate');
        $endpoints = $client->webhookEndpoints();
        $endpoint = $endpoints->create(LocalStack::env('MOSTRADOR_RECEIVER_URL') . $path);
        self::assertSame(['*'], $endpoint['filter_types']);

        $updated = $endpoints->update($endpoint['id'], filterTypes: ['order.*', 'webhook.*'], description: 'orders');
        self::assertSame(['order.*', 'webhook.*'], $updated['filter_types']);
        self::assertSame('orders', $updated['description']);

        $rotated = $endpoints->rotateSecret($endpoint['id'], 3600);
        self::assertStringStartsWith('whsec_', $rotated['secret']);
        self::assertNotSame($endpoint['secret'], $rotated['secret']);
        self::assertNotNull($rotated['secret_rotation_ends_at']);

        $test = $endpoints->test($endpoint['id']);
        self::assertCount(1, $test['delivery_ids']);
        [$body, $headers] = self::raw(LocalStack::received($path, 1)[0]);
        self::assertCount(2, explode(' ', array_change_key_case($headers)['webhook-signature']));
        foreach ([$endpoint['secret'], $rotated['secret']] as $secret) {
            self::assertSame('webhook.test', (new WebhookVerifier($secret))->verify($body, $headers)['type']);
        }

        $endpoints->delete($endpoint['id']);
        $this->expectException(NotFoundException::class);
        $endpoints->get($endpoint['id']);
    }
}
