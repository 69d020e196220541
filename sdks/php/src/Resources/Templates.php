<?php

declare(strict_types=1);

namespace Mostrador\Resources;

use Mostrador\Http\Page;

/**
 * `/v1/templates`: versioned minijinja templates. Every `put` saves a new immutable version.
 *
 * Template versions are arrays shaped like the API's `TemplateVersion`:
 * `{name, version, channel, content, variables, latest_version?, created_at}`.
 */
final class Templates extends Resource
{
    /**
     * Saves a new version. `$content` is a `TemplateContent`: `{kind: email, subject, html?, text?}`,
     * `{kind: whatsapp_text, body}` or `{kind: whatsapp_template, name, language, parameters?}`.
     *
     * @param array<string, mixed> $content
     * @return array<string, mixed>
     */
    public function put(string $name, array $content): array
    {
        return $this->transport->request('PUT', '/v1/templates/' . self::seg($name), [], $content) ?? [];
    }

    /** @return array<string, mixed> */
    public function putEmail(string $name, string $subject, ?string $html = null, ?string $text = null): array
    {
        return $this->put($name, self::compact(['kind' => 'email', 'subject' => $subject, 'html' => $html, 'text' => $text]));
    }

    /** @return array<string, mixed> */
    public function putWhatsAppText(string $name, string $body): array
    {
        return $this->put($name, ['kind' => 'whatsapp_text', 'body' => $body]);
    }

    /**
     * A Meta-approved WhatsApp template; each parameter is itself a template string.
     *
     * @param list<string> $parameters
     * @return array<string, mixed>
     */
    public function putWhatsAppTemplate(string $name, string $metaName, string $language, array $parameters = []): array
    {
        return $this->put($name, ['kind' => 'whatsapp_template', 'name' => $metaName, 'language' => $language, 'parameters' => $parameters]);
    }

    /** The latest version. @return array<string, mixed> */
    public function get(string $name): array
    {
        return $this->transport->request('GET', '/v1/templates/' . self::seg($name)) ?? [];
    }

    /** @return array<string, mixed> */
    public function getVersion(string $name, int $version): array
    {
        return $this->transport->request('GET', '/v1/templates/' . self::seg($name) . '/versions/' . $version) ?? [];
    }

    /** Template summaries `{name, channel, latest_version, created_at, updated_at}`. */
    public function list(?int $limit = null, ?string $cursor = null): Page
    {
        $body = $this->transport->request('GET', '/v1/templates', ['limit' => $limit, 'cursor' => $cursor]);
        return Page::fromBody($body, fn (string $next) => $this->list($limit, $next));
    }

    /**
     * Renders without sending: `{name, version, rendered: {kind, subject?, html?, text?, body?}}`.
     *
     * @param array<string, mixed> $variables
     * @return array<string, mixed>
     */
    public function preview(string $name, array $variables = [], ?int $version = null, ?string $idempotencyKey = null): array
    {
        $body = self::compact(['version' => $version, 'variables' => self::object($variables)]);
        return $this->transport->request('POST', '/v1/templates/' . self::seg($name) . '/preview', [], $body, $idempotencyKey) ?? [];
    }
}
