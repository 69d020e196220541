<?php

declare(strict_types=1);

namespace Mostrador\Tests\Unit;

use GuzzleHttp\Client as Guzzle;
use GuzzleHttp\Handler\MockHandler;
use GuzzleHttp\HandlerStack;
use GuzzleHttp\Middleware;
use GuzzleHttp\Psr7\Response;
use Mostrador\Client;
use PHPUnit\Framework\TestCase;
use Psr\Http\Message\RequestInterface;

/**
 * The SDK against the repository's openapi.json: every /v1 operation has an SDK method, and each
 * method (called with every optional argument) sends that operation's method and path, only
 * query parameters the operation declares, and a body whose members its schema declares (with
 * the required ones). A new operation or a renamed field fails here until the SDK follows.
 */
final class ContractTest extends TestCase
{
    private const SPEC = __DIR__ . '/../../../../openapi.json';

    /** @return array<string, callable(Client): mixed> operationId => a call with every argument */
    private static function calls(): array
    {
        $since = new \DateTimeImmutable('2026-11-20T00:00:00Z');
        return [
            'getProject' => fn (Client $c) => $c->project(),
            'listTemplates' => fn (Client $c) => $c->templates()->list(10, 'cur'),
            'getTemplate' => fn (Client $c) => $c->templates()->get('welcome'),
            'putTemplate' => fn (Client $c) => $c->templates()->putEmail('welcome', 'S', '<p>h</p>', 't'),
            'getTemplateVersion' => fn (Client $c) => $c->templates()->getVersion('welcome', 2),
            'previewTemplate' => fn (Client $c) => $c->templates()->preview('welcome', ['a' => 1], 2, 'k'),
            'createNotification' => fn (Client $c) => $c->notifications()->sendWhatsApp('+5491155550000', 'hola', ['a' => 1], 'link', 1, ['m' => 1], 'k'),
            'listNotifications' => fn (Client $c) => $c->notifications()->list('sent', 'email', 'welcome', $since, $since, 10, 'cur'),
            'getNotification' => fn (Client $c) => $c->notifications()->get('ntf_1'),
            'createEvent' => fn (Client $c) => $c->events()->post('order.created', ['a' => 1], 'A-1', 'k'),
            'listEvents' => fn (Client $c) => $c->events()->list('order.created', $since, $since, 10, 'cur'),
            'getEvent' => fn (Client $c) => $c->events()->get('evt_1'),
            'createWebhookEndpoint' => fn (Client $c) => $c->webhookEndpoints()->create('https://shop.example.com/h', ['order.*'], 'd', true, 'k'),
            'listWebhookEndpoints' => fn (Client $c) => $c->webhookEndpoints()->list(),
            'getWebhookEndpoint' => fn (Client $c) => $c->webhookEndpoints()->get('whe_1'),
            'updateWebhookEndpoint' => fn (Client $c) => $c->webhookEndpoints()->update('whe_1', 'https://shop.example.com/h', ['*'], 'd', false),
            'deleteWebhookEndpoint' => fn (Client $c) => $c->webhookEndpoints()->delete('whe_1'),
            'rotateWebhookSecret' => fn (Client $c) => $c->webhookEndpoints()->rotateSecret('whe_1', 60, 'k'),
            'testWebhookEndpoint' => fn (Client $c) => $c->webhookEndpoints()->test('whe_1', 'k'),
            'recoverWebhookEndpoint' => fn (Client $c) => $c->webhookEndpoints()->recover('whe_1', $since, 'k'),
            'listWebhookDeliveries' => fn (Client $c) => $c->webhookDeliveries()->list('whe_1', 'evt_1', 'failed', $since, $since, 10, 'cur'),
            'getWebhookDelivery' => fn (Client $c) => $c->webhookDeliveries()->get('dlv_1'),
            'retryWebhookDelivery' => fn (Client $c) => $c->webhookDeliveries()->retry('dlv_1', 'k'),
            'createPayment' => fn (Client $c) => $c->payments()->create('A-1', 100, 'ARS', 'direct', [['title' => 'Mate', 'quantity' => 1, 'unit_amount' => 100, 'id' => 'sku']], 'b@example.com', ['success' => 'https://s/ok', 'pending' => 'https://s/p', 'failure' => 'https://s/f'], 'd', 'tok', 'visa', 3, 'k'),
            'listPayments' => fn (Client $c) => $c->payments()->list('A-1', 'paid', 10, 'cur'),
            'getPayment' => fn (Client $c) => $c->payments()->get('pay_1'),
            'refundPayment' => fn (Client $c) => $c->payments()->refund('pay_1', 50, 'k'),
            'listRefunds' => fn (Client $c) => $c->payments()->refunds('pay_1', 10, 'cur'),
        ];
    }

    /** @return array<string, mixed> */
    private static function spec(): array
    {
        if (!is_file(self::SPEC)) {
            self::markTestSkipped('openapi.json is not beside the SDK (installed outside the repository)');
        }
        return json_decode((string) file_get_contents(self::SPEC), true, 512, JSON_THROW_ON_ERROR);
    }

    /** @return array<string, array{method: string, path: string, op: array<string, mixed>}> */
    private static function operations(array $spec): array
    {
        $ops = [];
        foreach ($spec['paths'] as $path => $item) {
            foreach ($item as $method => $op) {
                if (str_starts_with($path, '/v1/')) {
                    if (is_array($op) && isset($op['operationId'])) {
                        $ops[$op['operationId']] = ['method' => strtoupper($method), 'path' => $path, 'op' => $op];
                    }
                }
            }
        }
        return $ops;
    }

    public function testEveryOperationHasAnSdkMethod(): void
    {
        $operations = self::operations(self::spec());
        self::assertGreaterThanOrEqual(27, count($operations));
        self::assertSame([], array_values(array_diff(array_keys($operations), array_keys(self::calls()))), 'operations without an SDK method');
        self::assertSame([], array_values(array_diff(array_keys(self::calls()), array_keys($operations))), 'SDK methods for operations the document does not have');
    }

    public function testEachMethodSendsWhatTheDocumentDeclares(): void
    {
        $spec = self::spec();
        foreach (self::operations($spec) as $id => ['method' => $method, 'path' => $path, 'op' => $op]) {
            $request = self::send(self::calls()[$id] ?? self::fail("no SDK method for $id"));
            self::assertSame($method, $request->getMethod(), $id);
            $pattern = '#^' . preg_replace('#\\\\\{[a-z_]+\\\\\}#', '[^/]+', preg_quote($path, '#')) . '$#';
            self::assertMatchesRegularExpression($pattern, $request->getUri()->getPath(), $id);

            $declared = [];
            foreach ($op['parameters'] ?? [] as $parameter) {
                $parameter = self::resolve($spec, $parameter);
                $declared[$parameter['in']][] = $parameter['name'];
            }
            parse_str($request->getUri()->getQuery(), $query);
            self::assertSame([], array_values(array_diff(array_keys($query), $declared['query'] ?? [])), "$id: undeclared query parameters");
            self::assertSame([], array_values(array_diff($declared['query'] ?? [], array_keys($query))), "$id: query parameters the SDK cannot send");
            if ($method === 'POST') {
                self::assertContains('Idempotency-Key', $declared['header'] ?? [], "$id declares no Idempotency-Key");
                self::assertSame('k', $request->getHeaderLine('Idempotency-Key'), "$id: the caller's Idempotency-Key");
            }

            $schema = $op['requestBody']['content']['application/json']['schema'] ?? null;
            $body = json_decode((string) $request->getBody(), true);
            if ($schema === null) {
                self::assertNull($body, "$id sends a body the document does not declare");
                continue;
            }
            self::assertIsArray($body, "$id sends no JSON object");
            self::assertBodyMatches($spec, self::resolve($spec, $schema), $body, $id);
        }
    }

    /** @param array<string, mixed> $body */
    private static function assertBodyMatches(array $spec, array $schema, array $body, string $where): void
    {
        if (isset($schema['oneOf'])) {
            $kind = $body['kind'] ?? null;
            $schema = self::resolve($spec, ['$ref' => $schema['discriminator']['mapping'][$kind] ?? self::fail("$where: unknown kind $kind")]);
        }
        $properties = $schema['properties'] ?? [];
        self::assertSame([], array_values(array_diff(array_keys($body), array_keys($properties))), "$where: members the schema does not declare");
        self::assertSame([], array_values(array_diff($schema['required'] ?? [], array_keys($body))), "$where: required members missing");
        foreach ($body as $name => $value) {
            $property = self::resolve($spec, $properties[$name]);
            if (($property['type'] ?? null) === 'object' && isset($property['properties']) && is_array($value)) {
                self::assertBodyMatches($spec, $property, $value, "$where.$name");
            }
            if (($property['type'] ?? null) === 'array' && is_array($value)) {
                $items = self::resolve($spec, $property['items'] ?? []);
                foreach ($value as $i => $item) {
                    if (is_array($item) && isset($items['properties'])) {
                        self::assertBodyMatches($spec, $items, $item, "$where.{$name}[$i]");
                    }
                }
            }
        }
    }

    /** @return array<string, mixed> */
    private static function resolve(array $spec, array $node): array
    {
        while (isset($node['$ref'])) {
            $node = array_reduce(explode('/', substr($node['$ref'], 2)), fn ($at, $key) => $at[$key], $spec);
        }
        return $node;
    }

    private static function send(callable $call): RequestInterface
    {
        $history = [];
        $stack = HandlerStack::create(new MockHandler([new Response(200, [], '{"data":[],"next_cursor":null}')]));
        $stack->push(Middleware::history($history));
        $call(new Client('mk_live_test', 'http://mostrador.test', ['http_client' => new Guzzle(['handler' => $stack]), 'max_retries' => 0]));
        self::assertCount(1, $history);
        return $history[0]['request'];
    }
}
