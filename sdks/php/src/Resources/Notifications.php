<?php

declare(strict_types=1);

namespace Mostrador\Resources;

use Mostrador\Http\Page;

/**
 * `/v1/notifications`: e-mail and WhatsApp messages from templates, sent asynchronously.
 *
 * Notifications are arrays shaped like the API's `Notification`: `{id, channel, mode, recipient,
 * template: {name, version}, status, reason, provider_message_id, link, attempts, history, …}`.
 * Status lifecycle: pending → sending → sent → delivered → read, or failed/bounced/complained.
 */
final class Notifications extends Resource
{
    /**
     * `POST /v1/notifications` with a `CreateNotification` body
     * (`channel`, `to`, `template`, `version`?, `variables`?, `metadata`?, `mode`?).
     *
     * @param array<string, mixed> $params
     * @return array<string, mixed> the stored notification (`pending`; `sent` with a `link` in WhatsApp link mode)
     */
    public function send(array $params, ?string $idempotencyKey = null): array
    {
        foreach (['variables', 'metadata'] as $object) {
            if (isset($params[$object]) && is_array($params[$object])) {
                $params[$object] = self::object($params[$object]);
            }
        }
        return $this->transport->request('POST', '/v1/notifications', [], $params, $idempotencyKey) ?? [];
    }

    /**
     * @param array<string, mixed> $variables
     * @param array<string, mixed>|null $metadata yours, echoed back (at most 4 KiB)
     * @return array<string, mixed>
     */
    public function sendEmail(
        string $to,
        string $template,
        array $variables = [],
        ?int $version = null,
        ?array $metadata = null,
        ?string $idempotencyKey = null,
    ): array {
        return $this->send(
            self::compact(['channel' => 'email', 'to' => $to, 'template' => $template, 'version' => $version, 'variables' => $variables, 'metadata' => $metadata]),
            $idempotencyKey,
        );
    }

    /**
     * @param string $to E.164 (`+5491155550000`)
     * @param string $mode `cloud` (queued Cloud API message) or `link` (a wa.me link, answered at once)
     * @param array<string, mixed> $variables
     * @param array<string, mixed>|null $metadata
     * @return array<string, mixed>
     */
    public function sendWhatsApp(
        string $to,
        string $template,
        array $variables = [],
        string $mode = 'cloud',
        ?int $version = null,
        ?array $metadata = null,
        ?string $idempotencyKey = null,
    ): array {
        return $this->send(
            self::compact(['channel' => 'whatsapp', 'mode' => $mode, 'to' => $to, 'template' => $template, 'version' => $version, 'variables' => $variables, 'metadata' => $metadata]),
            $idempotencyKey,
        );
    }

    /** With its status history. @return array<string, mixed> */
    public function get(string $id): array
    {
        return $this->transport->request('GET', '/v1/notifications/' . self::seg($id)) ?? [];
    }

    /** Newest first. `$from`/`$to` bound the creation time; `$status` `failed` means failed or bounced (`failed_only`: exactly failed). */
    public function list(
        ?string $status = null,
        ?string $channel = null,
        ?string $template = null,
        \DateTimeInterface|string|null $from = null,
        \DateTimeInterface|string|null $to = null,
        ?int $limit = null,
        ?string $cursor = null,
    ): Page {
        $query = ['status' => $status, 'channel' => $channel, 'template' => $template, 'from' => self::time($from), 'to' => self::time($to), 'limit' => $limit, 'cursor' => $cursor];
        $body = $this->transport->request('GET', '/v1/notifications', $query);
        return Page::fromBody($body, fn (string $next) => $this->list($status, $channel, $template, $from, $to, $limit, $next));
    }
}
