<?php

declare(strict_types=1);

namespace Mostrador\Resources;

use Mostrador\Http\Page;

/**
 * `/v1/webhook-endpoints`: where events are delivered (Standard Webhooks). Endpoints are arrays
 * shaped like the API's `Endpoint`; `secret` (`whsec_…`) is only in the answers of create and
 * rotateSecret: store it then.
 */
final class WebhookEndpoints extends Resource
{
    /**
     * @param list<string> $filterTypes event types or patterns (`order.*`, `*`)
     * @return array<string, mixed>
     */
    public function create(
        string $url,
        array $filterTypes = ['*'],
        ?string $description = null,
        ?bool $enabled = null,
        ?string $idempotencyKey = null,
    ): array {
        $body = self::compact(['url' => $url, 'filter_types' => $filterTypes, 'description' => $description, 'enabled' => $enabled]);
        return $this->transport->request('POST', '/v1/webhook-endpoints', [], $body, $idempotencyKey) ?? [];
    }

    /** Every endpoint of the project (one page: a plan allows a handful). */
    public function list(): Page
    {
        return Page::fromBody($this->transport->request('GET', '/v1/webhook-endpoints'));
    }

    /** @return array<string, mixed> */
    public function get(string $id): array
    {
        return $this->transport->request('GET', '/v1/webhook-endpoints/' . self::seg($id)) ?? [];
    }

    /**
     * Changes only what is given; `enabled: true` re-enables a disabled endpoint.
     *
     * @param list<string>|null $filterTypes
     * @return array<string, mixed>
     */
    public function update(
        string $id,
        ?string $url = null,
        ?array $filterTypes = null,
        ?string $description = null,
        ?bool $enabled = null,
    ): array {
        $body = self::compact(['url' => $url, 'filter_types' => $filterTypes, 'description' => $description, 'enabled' => $enabled]);
        return $this->transport->request('PATCH', '/v1/webhook-endpoints/' . self::seg($id), [], self::object($body)) ?? [];
    }

    public function delete(string $id): void
    {
        $this->transport->request('DELETE', '/v1/webhook-endpoints/' . self::seg($id));
    }

    /**
     * A new secret (in the answer's `secret`); the old one keeps signing too for
     * `$overlapSeconds` (default 86400, at most 7 days).
     *
     * @return array<string, mixed>
     */
    public function rotateSecret(string $id, ?int $overlapSeconds = null, ?string $idempotencyKey = null): array
    {
        $body = self::object(self::compact(['overlap_seconds' => $overlapSeconds]));
        return $this->transport->request('POST', '/v1/webhook-endpoints/' . self::seg($id) . '/rotate-secret', [], $body, $idempotencyKey) ?? [];
    }

    /**
     * Sends a `webhook.test` event to this endpoint only.
     *
     * @return array{event_id: string, delivery_ids: list<string>}
     */
    public function test(string $id, ?string $idempotencyKey = null): array
    {
        /** @var array{event_id: string, delivery_ids: list<string>} */
        return $this->transport->request('POST', '/v1/webhook-endpoints/' . self::seg($id) . '/test', [], null, $idempotencyKey) ?? [];
    }

    /**
     * Re-queues every failed delivery of the endpoint since then.
     *
     * @return array{recovered: int}
     */
    public function recover(string $id, \DateTimeInterface|string $since, ?string $idempotencyKey = null): array
    {
        /** @var array{recovered: int} */
        return $this->transport->request('POST', '/v1/webhook-endpoints/' . self::seg($id) . '/recover', [], ['since' => self::time($since)], $idempotencyKey) ?? [];
    }
}
