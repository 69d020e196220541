<?php

declare(strict_types=1);

namespace Mostrador\Tests\Integration;

use GuzzleHttp\Client as Guzzle;
use Mostrador\Exceptions\ConflictException;
use Mostrador\Exceptions\ValidationException;
use Mostrador\Tests\Support\LocalStack;
use PHPUnit\Framework\TestCase;

/**
 * A checkout payment through the SDK against the Mercado Pago sandbox: created, paid by the
 * sandbox buyer, synced, refunded; idempotent create. The operator's credential setup is done
 * with the admin API, as in production (the SDK never sees Mercado Pago credentials).
 */
final class PaymentsTest extends TestCase
{
    private const SECRET = 'sdk-test-webhook-secret';

    private static function configureMercadoPago(): void
    {
        $collector = random_int(600_000, 699_999);
        $r = LocalStack::admin('PUT', '/admin/projects/' . LocalStack::projectId() . '/credentials/mercadopago', [
            'access_token' => "TEST-1234-010203-abcdef-$collector",
            'webhook_secret' => self::SECRET,
        ]);
        self::assertContains($r['status'], [200, 204], json_encode($r['body']));
        $r = LocalStack::call('PUT', LocalStack::env('MOSTRADOR_MERCADOPAGO_URL') . "/_sandbox/collectors/$collector", ['webhook_secret' => self::SECRET]);
        self::assertLessThan(300, $r['status']);
    }

    public function testACheckoutIsPaidThenRefunded(): void
    {
        self::configureMercadoPago();
        $payments = LocalStack::client()->payments();
        $order = LocalStack::unique('A');
        $key = 'order-' . $order;
        $create = fn () => $payments->create(
            $order,
            150000,
            'ARS',
            items: [['title' => 'Mate', 'quantity' => 1, 'unit_amount' => 150000]],
            payerEmail: 'buyer@example.com',
            backUrls: ['success' => 'https://shop.example.com/ok'],
            idempotencyKey: $key,
        );
        $payment = $create();
        self::assertStringStartsWith('pay_', $payment['id']);
        self::assertSame('pending', $payment['status']);
        self::assertSame('mercadopago', $payment['provider']);
        self::assertStringStartsWith('https://www.mercadopago.com.ar/checkout/', $payment['redirect_url']);
        // The same Idempotency-Key replays the first answer: one payment, not two.
        self::assertSame($payment['id'], $create()['id']);
        self::assertCount(1, $payments->list(orderId: $order));
        try {
            $payments->create($order, 99, 'ARS', idempotencyKey: $key);
            self::fail('a different request with the same key was accepted');
        } catch (ConflictException $e) {
            self::assertSame('idempotency_key_reused', $e->getErrorCode());
        }

        $paid = (new Guzzle(['http_errors' => false]))->post(
            LocalStack::env('MOSTRADOR_MERCADOPAGO_URL') . '/_sandbox/preferences/' . $payment['checkout_id'] . '/pay',
            ['json' => ['holder_name' => 'APRO']],
        );
        self::assertSame(201, $paid->getStatusCode(), (string) $paid->getBody());

        $done = LocalStack::eventually(function () use ($payments, $payment) {
            $p = $payments->get($payment['id']);
            return $p['status'] === 'paid' ? $p : null;
        }, 30, 'the payment to be paid');
        self::assertNotEmpty($done['provider_payment_id']);
        self::assertContains('paid', array_column($done['history'], 'status'));
        self::assertSame([$payment['id']], array_column($payments->list(orderId: $order, status: 'paid')->data, 'id'));

        $refund = $payments->refund($payment['id'], 50000);
        self::assertSame(50000, $refund['refund']['amount']);
        self::assertSame('partially_refunded', $refund['payment']['status']);
        self::assertSame(50000, $refund['payment']['refunded_amount']);
        try {
            $payments->refund($payment['id'], 100001);
            self::fail('refunded more than was paid');
        } catch (ValidationException $e) {
            self::assertSame('out_of_range', $e->getFieldCodes()['amount'] ?? null);
        }
        $rest = $payments->refund($payment['id']);
        self::assertSame(100000, $rest['refund']['amount']);
        self::assertSame('refunded', $rest['payment']['status']);
    }

    public function testAnUnsupportedCurrencyIsAFieldError(): void
    {
        try {
            LocalStack::client()->payments()->create('A-1', 100, 'EUR');
            self::fail('no exception');
        } catch (ValidationException $e) {
            self::assertSame('unsupported_currency', $e->getFieldCodes()['currency'] ?? null);
        }
    }
}
