<?php

declare(strict_types=1);

namespace Mostrador\Resources;

use Mostrador\Http\Page;

/**
 * `/v1/webhook-deliveries`: one delivery per (event, endpoint), with its attempts. Deliveries are
 * arrays shaped like the API's `Delivery` (`status`: pending, succeeded, failed).
 */
final class WebhookDeliveries extends Resource
{
    public function list(
        ?string $endpointId = null,
        ?string $eventId = null,
        ?string $status = null,
        \DateTimeInterface|string|null $since = null,
        \DateTimeInterface|string|null $until = null,
        ?int $limit = null,
        ?string $cursor = null,
    ): Page {
        $query = ['endpoint_id' => $endpointId, 'event_id' => $eventId, 'status' => $status, 'since' => self::time($since), 'until' => self::time($until), 'limit' => $limit, 'cursor' => $cursor];
        $body = $this->transport->request('GET', '/v1/webhook-deliveries', $query);
        return Page::fromBody($body, fn (string $next) => $this->list($endpointId, $eventId, $status, $since, $until, $limit, $next));
    }

    /** With `attempt_log` (time, status code, duration, first 2 KB of the body, error class). @return array<string, mixed> */
    public function get(string $id): array
    {
        return $this->transport->request('GET', '/v1/webhook-deliveries/' . self::seg($id)) ?? [];
    }

    /** One attempt now (202). @return array<string, mixed> */
    public function retry(string $id, ?string $idempotencyKey = null): array
    {
        return $this->transport->request('POST', '/v1/webhook-deliveries/' . self::seg($id) . '/retry', [], null, $idempotencyKey) ?? [];
    }
}
