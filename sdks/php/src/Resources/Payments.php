<?php

declare(strict_types=1);

namespace Mostrador\Resources;

use Mostrador\Http\Page;

/**
 * `/v1/payments`: provider-neutral payments (Mercado Pago behind them, configured by the
 * operator; nothing Mercado Pago-specific is needed here). Amounts are integer minor units.
 * Payments are arrays shaped like the API's `Payment`.
 */
final class Payments extends Resource
{
    /**
     * @param string $mode `checkout` (answer has `redirect_url` for the buyer) or `direct` (a card token)
     * @param list<array{title: string, quantity: int, unit_amount: int, id?: string}> $items
     * @param array{success?: string, pending?: string, failure?: string}|null $backUrls
     * @return array<string, mixed>
     */
    public function create(
        string $orderId,
        int $amount,
        string $currency,
        string $mode = 'checkout',
        array $items = [],
        ?string $payerEmail = null,
        ?array $backUrls = null,
        ?string $description = null,
        ?string $cardToken = null,
        ?string $paymentMethodId = null,
        ?int $installments = null,
        ?string $idempotencyKey = null,
    ): array {
        $body = self::compact([
            'order_id' => $orderId,
            'amount' => $amount,
            'currency' => $currency,
            'mode' => $mode,
            'items' => $items === [] ? null : $items,
            'payer' => $payerEmail === null ? null : ['email' => $payerEmail],
            'back_urls' => $backUrls,
            'description' => $description,
            'card_token' => $cardToken,
            'payment_method_id' => $paymentMethodId,
            'installments' => $installments,
        ]);
        return $this->transport->request('POST', '/v1/payments', [], $body, $idempotencyKey) ?? [];
    }

    /** With its status history. @return array<string, mixed> */
    public function get(string $id): array
    {
        return $this->transport->request('GET', '/v1/payments/' . self::seg($id)) ?? [];
    }

    public function list(?string $orderId = null, ?string $status = null, ?int $limit = null, ?string $cursor = null): Page
    {
        $body = $this->transport->request('GET', '/v1/payments', ['order_id' => $orderId, 'status' => $status, 'limit' => $limit, 'cursor' => $cursor]);
        return Page::fromBody($body, fn (string $next) => $this->list($orderId, $status, $limit, $next));
    }

    /**
     * Refunds `$amount` minor units, or everything not yet refunded when null.
     *
     * @return array{refund: array<string, mixed>, payment: array<string, mixed>}
     */
    public function refund(string $paymentId, ?int $amount = null, ?string $idempotencyKey = null): array
    {
        $body = self::object(self::compact(['amount' => $amount]));
        /** @var array{refund: array<string, mixed>, payment: array<string, mixed>} */
        return $this->transport->request('POST', '/v1/payments/' . self::seg($paymentId) . '/refunds', [], $body, $idempotencyKey) ?? [];
    }

    /** A payment's refunds (made through Mostrador or at the provider), newest first. */
    public function refunds(string $paymentId, ?int $limit = null, ?string $cursor = null): Page
    {
        $body = $this->transport->request('GET', '/v1/payments/' . self::seg($paymentId) . '/refunds', ['limit' => $limit, 'cursor' => $cursor]);
        return Page::fromBody($body, fn (string $next) => $this->refunds($paymentId, $limit, $next));
    }
}
