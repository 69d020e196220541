<?php

declare(strict_types=1);

namespace Mostrador\Tests\Integration;

use Mostrador\Exceptions\NotFoundException;
use Mostrador\Exceptions\ValidationException;
use Mostrador\Tests\Support\LocalStack;
use PHPUnit\Framework\TestCase;

/** Templates and notifications through the SDK against the running local stack. */
final class NotificationsTest extends TestCase
{
    public function testTemplatesAreVersionedListedAndPreviewed(): void
    {
        $templates = LocalStack::client()->templates();
        $name = LocalStack::unique('order-shipped');
        $v1 = $templates->putEmail($name, 'Pedido {{ order.id }}', '<p>Hola {{ name }}</p>', 'Hola {{ name }}');
        self::assertSame(1, $v1['version']);
        self::assertSame('email', $v1['channel']);
        self::assertEqualsCanonicalizing(['name', 'order'], $v1['variables']);
        $v2 = $templates->putEmail($name, 'Tu pedido {{ order.id }} salió', '<p>Hola {{ name }}</p>');
        self::assertSame(2, $v2['version']);

        self::assertSame(2, $templates->get($name)['latest_version']);
        self::assertSame('Pedido {{ order.id }}', $templates->getVersion($name, 1)['content']['subject']);
        $names = array_column(iterator_to_array($templates->list(limit: 2)->autoPaging(), false), 'name');
        self::assertContains($name, $names);

        $preview = $templates->preview($name, ['name' => '<b>Ana</b>', 'order' => ['id' => 'A-7']], version: 1);
        self::assertSame(1, $preview['version']);
        self::assertSame('Pedido A-7', $preview['rendered']['subject']);
        self::assertStringStartsWith('<p>Hola &lt;b&gt;Ana&lt;', $preview['rendered']['html']);
        self::assertStringNotContainsString('<b>', $preview['rendered']['html']);
        self::assertSame('Hola <b>Ana</b>', $preview['rendered']['text']);
    }

    public function testAnEmailReachesSentAndIsInTheLocalMailbox(): void
    {
        LocalStack::verifyMailDomain('demo-shop.example.com');
        $client = LocalStack::client();
        $name = LocalStack::unique('welcome');
        $client->templates()->putEmail($name, 'Bienvenida {{ name }}', '<p>Hola {{ name }}</p>', 'Hola {{ name }}');
        $to = LocalStack::unique('ana') . '@example.com';

        $sent = $client->notifications()->sendEmail($to, $name, ['name' => 'Ana'], metadata: ['order' => 'A-1']);
        self::assertSame('pending', $sent['status']);
        self::assertStringStartsWith('ntf_', $sent['id']);
        self::assertSame(['name' => $name, 'version' => 1], $sent['template']);

        $final = LocalStack::eventually(function () use ($client, $sent) {
            $n = $client->notifications()->get($sent['id']);
            return in_array($n['status'], ['pending', 'sending'], true) ? null : $n;
        }, 30, 'the e-mail to leave pending');
        self::assertSame('sent', $final['status'], (string) ($final['reason'] ?? ''));
        self::assertNotEmpty($final['provider_message_id']);
        self::assertSame(['order' => 'A-1'], $final['metadata']);
        $history = array_column($final['history'], 'status');
        self::assertSame('pending', $history[0]);
        self::assertSame('sent', end($history));

        $mail = array_values(array_filter(LocalStack::sentMail(), fn ($m) => in_array($to, $m['destinations']['ToAddresses'] ?? [], true)));
        self::assertCount(1, $mail);
        self::assertSame('Bienvenida Ana', $mail[0]['subject']);
        self::assertSame('<p>Hola Ana</p>', $mail[0]['body']);

        $listed = $client->notifications()->list(status: 'sent', channel: 'email', template: $name);
        self::assertSame([$sent['id']], array_column($listed->data, 'id'));
    }

    public function testWhatsAppLinkModeAnswersWithAWaMeLinkAtOnce(): void
    {
        $client = LocalStack::client();
        $name = LocalStack::unique('hola');
        $client->templates()->putWhatsAppText($name, 'Hola {{ name }}, tu pedido salió');
        $n = $client->notifications()->sendWhatsApp('+5491155550000', $name, ['name' => 'Ana'], mode: 'link');
        self::assertSame('sent', $n['status']);
        self::assertStringStartsWith('https://wa.me/5491155550000?text=', $n['link']);
        self::assertStringContainsString(rawurlencode('Hola Ana'), $n['link']);
    }

    public function testBadInputIsAProblemWithFieldErrors(): void
    {
        $client = LocalStack::client();
        try {
            $client->notifications()->sendEmail('not-an-email', 'whatever');
            self::fail('no exception');
        } catch (ValidationException $e) {
            self::assertSame(422, $e->getStatus());
            self::assertSame('validation_failed', $e->getErrorCode());
            self::assertSame('urn:mostrador:problem:validation_failed', $e->getType());
            self::assertSame('invalid_format', $e->getFieldCodes()['to'] ?? null);
            self::assertNotEmpty($e->getRequestId());
            self::assertNotEmpty($e->getTitle());
        }
        try {
            $client->templates()->putEmail(LocalStack::unique('broken'), 'Hola {{ name ', null, 'x');
            self::fail('no exception');
        } catch (ValidationException $e) {
            self::assertSame('syntax_error', $e->getFieldCodes()['subject'] ?? null);
        }
        $this->expectException(NotFoundException::class);
        $client->templates()->get(LocalStack::unique('missing'));
    }
}
