<?php

declare(strict_types=1);

namespace Mostrador\Resources;

use Mostrador\Http\Page;

/**
 * `/v1/events`: what happened in the shop; delivered to every matching webhook endpoint.
 * Events are arrays shaped like the API's `Event`: `{id, type, timestamp, event_id, data, deliveries?}`.
 */
final class Events extends Resource
{
    /**
     * @param string $type dotted lowercase (`order.created`)
     * @param mixed $data any JSON value (the whole body is limited to 20 KB)
     * @param string|null $eventId your id: the same id is stored once (the answer says `duplicate`)
     * @return array{id: string, duplicate: bool, deliveries: int, delivery_ids: list<string>}
     */
    public function post(string $type, mixed $data, ?string $eventId = null, ?string $idempotencyKey = null): array
    {
        if (is_array($data)) {
            $data = self::object($data);
        }
        $body = self::compact(['type' => $type, 'data' => $data, 'event_id' => $eventId]);
        /** @var array{id: string, duplicate: bool, deliveries: int, delivery_ids: list<string>} */
        return $this->transport->request('POST', '/v1/events', [], $body, $idempotencyKey) ?? [];
    }

    /** One event with its deliveries. @return array<string, mixed> */
    public function get(string $id): array
    {
        return $this->transport->request('GET', '/v1/events/' . self::seg($id)) ?? [];
    }

    /** Newest first. */
    public function list(
        ?string $type = null,
        \DateTimeInterface|string|null $since = null,
        \DateTimeInterface|string|null $until = null,
        ?int $limit = null,
        ?string $cursor = null,
    ): Page {
        $query = ['type' => $type, 'since' => self::time($since), 'until' => self::time($until), 'limit' => $limit, 'cursor' => $cursor];
        $body = $this->transport->request('GET', '/v1/events', $query);
        return Page::fromBody($body, fn (string $next) => $this->list($type, $since, $until, $limit, $next));
    }
}
