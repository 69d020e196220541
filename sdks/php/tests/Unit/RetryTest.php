<?php

declare(strict_types=1);

namespace Mostrador\Tests\Unit;

use GuzzleHttp\Client as Guzzle;
use GuzzleHttp\Exception\ConnectException;
use GuzzleHttp\Handler\MockHandler;
use GuzzleHttp\HandlerStack;
use GuzzleHttp\Middleware;
use GuzzleHttp\Psr7\Request;
use GuzzleHttp\Psr7\Response;
use Mostrador\Client;
use Mostrador\Exceptions\NetworkException;
use Mostrador\Exceptions\RateLimitException;
use Mostrador\Exceptions\ServerException;
use Mostrador\Exceptions\ValidationException;
use PHPUnit\Framework\TestCase;

/**
 * Retry and idempotency rules with scripted answers (Guzzle's MockHandler): which failures are
 * retried, how long the client waits, that it stops, and that a retried POST repeats its key.
 * (Against the real stack, IdempotencyTest replays a key and FaultsTest retries through a real 503.)
 */
final class RetryTest extends TestCase
{
    /** @var list<array{request: Request}> */
    private array $sent = [];
    /** @var list<float> */
    private array $slept = [];

    /** @param list<Response|\Throwable> $answers */
    private function client(array $answers, int $maxRetries = 2): Client
    {
        $stack = HandlerStack::create(new MockHandler($answers));
        $stack->push(Middleware::history($this->sent));
        return new Client('mk_live_test', 'http://mostrador.test/', [
            'http_client' => new Guzzle(['handler' => $stack]),
            'max_retries' => $maxRetries,
            'sleep' => function (float $s): void {
                $this->slept[] = $s;
            },
        ]);
    }

    private static function problem(int $status, string $code, array $headers = [], array $extra = []): Response
    {
        $body = ['type' => "urn:mostrador:problem:$code", 'title' => 'T', 'status' => $status, 'code' => $code, 'detail' => "detail of $code", 'request_id' => 'req-1'] + $extra;
        return new Response($status, ['Content-Type' => 'application/problem+json'] + $headers, json_encode($body));
    }

    private static function accepted(): Response
    {
        return new Response(202, ['Content-Type' => 'application/json'], '{"id":"evt_1","duplicate":false,"deliveries":0}');
    }

    public function testA5xxIsRetriedWithTheSameIdempotencyKey(): void
    {
        $client = $this->client([self::problem(503, 'storage_unavailable'), new Response(502), self::accepted()]);
        $answer = $client->events()->post('order.created', ['order_id' => 'A-1']);
        self::assertSame('evt_1', $answer['id']);
        self::assertCount(3, $this->sent);
        $keys = array_map(fn ($t) => $t['request']->getHeaderLine('Idempotency-Key'), $this->sent);
        self::assertMatchesRegularExpression('/^sdk-[0-9a-f]{32}$/', $keys[0]);
        self::assertSame([$keys[0], $keys[0], $keys[0]], $keys);
        self::assertSame('mk_live_test', $this->sent[0]['request']->getHeaderLine('X-API-KEY'));
        self::assertSame('http://mostrador.test/v1/events', (string) $this->sent[0]['request']->getUri());
        self::assertSame('{"type":"order.created","data":{"order_id":"A-1"}}', (string) $this->sent[0]['request']->getBody());
        // Exponential with jitter: retry n waits between half and all of 0.5 s * 2^(n-1).
        self::assertCount(2, $this->slept);
        self::assertGreaterThanOrEqual(0.25, $this->slept[0]);
        self::assertLessThanOrEqual(0.5, $this->slept[0]);
        self::assertGreaterThanOrEqual(0.5, $this->slept[1]);
        self::assertLessThanOrEqual(1.0, $this->slept[1]);
    }

    public function testEachLogicalCallGetsItsOwnKeyAndACallerKeyIsUsedAsIs(): void
    {
        $client = $this->client([self::accepted(), self::accepted()]);
        $client->events()->post('a.b', []);
        $client->events()->post('a.b', [], null, 'order-A-1-created');
        self::assertNotSame('', $this->sent[0]['request']->getHeaderLine('Idempotency-Key'));
        self::assertSame('order-A-1-created', $this->sent[1]['request']->getHeaderLine('Idempotency-Key'));
        self::assertSame('{"type":"a.b","data":{}}', (string) $this->sent[0]['request']->getBody());
    }

    public function testRetriesAreBoundedAndTheLastProblemIsThrown(): void
    {
        $client = $this->client(array_fill(0, 5, self::problem(500, 'internal')), 3);
        try {
            $client->notifications()->get('ntf_1');
            self::fail('no exception');
        } catch (ServerException $e) {
            self::assertSame(500, $e->getStatus());
            self::assertSame('internal', $e->getErrorCode());
            self::assertSame('req-1', $e->getRequestId());
        }
        self::assertCount(4, $this->sent);
        self::assertCount(3, $this->slept);
    }

    public function testA429HonoursRetryAfterThenRateLimitReset(): void
    {
        $client = $this->client([
            self::problem(429, 'rate_limited', ['Retry-After' => '3', 'RateLimit-Reset' => '9']),
            self::problem(429, 'rate_limited', ['RateLimit-Reset' => '2']),
            new Response(200, [], '{"data":[],"next_cursor":null}'),
        ]);
        self::assertCount(0, $client->payments()->list(orderId: 'A-1'));
        self::assertSame([3.0, 2.0], $this->slept);
        self::assertSame('order_id=A-1', $this->sent[0]['request']->getUri()->getQuery());
    }

    public function testARetryAfterBeyondTheCapIsNotWaitedFor(): void
    {
        $client = $this->client([self::problem(429, 'quota_exceeded', ['Retry-After' => '86400'])]);
        try {
            $client->notifications()->sendEmail('ana@example.com', 'welcome');
            self::fail('no exception');
        } catch (RateLimitException $e) {
            self::assertSame('quota_exceeded', $e->getErrorCode());
            self::assertSame(86400, $e->getRetryAfter());
        }
        self::assertSame([], $this->slept);
    }

    public function testNetworkErrorsAreRetriedThenReported(): void
    {
        $refused = fn () => new ConnectException('Connection refused', new Request('GET', 'http://mostrador.test/'));
        $client = $this->client([$refused(), self::accepted()]);
        self::assertSame('evt_1', $client->events()->post('a.b', 1)['id']);
        self::assertCount(1, $this->slept);

        $this->slept = [];
        $client = $this->client([$refused(), $refused(), $refused()]);
        $this->expectException(NetworkException::class);
        $client->events()->get('evt_1');
    }

    public function testKeylessWritesRetryOnlyWhatCannotHaveBeenActedOn(): void
    {
        // A PUT that may have saved a template version is not repeated (it would save another).
        $client = $this->client([self::problem(503, 'storage_unavailable'), self::accepted()]);
        try {
            $client->templates()->putEmail('welcome', 'Hola', null, 'Hola');
            self::fail('no exception');
        } catch (ServerException $e) {
            self::assertSame(503, $e->getCode());
        }
        self::assertCount(1, $this->sent);
        $timeout = fn () => new \GuzzleHttp\Exception\RequestException(
            'timed out',
            new Request('DELETE', 'http://mostrador.test/'),
        );
        $this->sent = [];
        $client = $this->client([$timeout(), new Response(204)]);
        try {
            $client->webhookEndpoints()->delete('whe_1');
            self::fail('no exception');
        } catch (NetworkException) {
        }
        self::assertCount(1, $this->sent);

        // Refused before acting (no connection, 429): retried.
        $this->sent = [];
        $refused = fn () => new ConnectException('Connection refused', new Request('DELETE', 'http://mostrador.test/'));
        $client = $this->client([$refused(), self::problem(429, 'rate_limited', ['Retry-After' => '1']), new Response(204)]);
        $client->webhookEndpoints()->delete('whe_1');
        self::assertCount(3, $this->sent);
        self::assertSame('DELETE', $this->sent[2]['request']->getMethod());
    }

    public function testA4xxIsNotRetriedAndCarriesTheFieldErrors(): void
    {
        $errors = [['field' => 'to', 'code' => 'invalid_format', 'message' => 'must contain exactly one @']];
        $client = $this->client([self::problem(422, 'validation_failed', [], ['errors' => $errors])]);
        try {
            $client->notifications()->sendEmail('nope', 'welcome');
            self::fail('no exception');
        } catch (ValidationException $e) {
            self::assertSame(['to' => 'invalid_format'], $e->getFieldCodes());
            self::assertSame('urn:mostrador:problem:validation_failed', $e->getType());
            self::assertSame(422, $e->getCode());
        }
        self::assertCount(1, $this->sent);
        self::assertSame([], $this->slept);
    }

    public function testIdsAreEncodedIntoOnePathSegment(): void
    {
        $client = $this->client([self::problem(404, 'not_found')]);
        try {
            $client->payments()->get('../admin/projects?x=1');
        } catch (\Mostrador\Exceptions\NotFoundException) {
        }
        self::assertSame('/v1/payments/..%2Fadmin%2Fprojects%3Fx%3D1', $this->sent[0]['request']->getUri()->getPath());
    }
}
