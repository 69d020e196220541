<?php

declare(strict_types=1);

namespace Mostrador\Tests\Integration;

use Mostrador\Exceptions\AuthenticationException;
use Mostrador\Exceptions\NotFoundException;
use Mostrador\Tests\Support\LocalStack;
use PHPUnit\Framework\TestCase;

/** Authentication failures and project isolation, as SDK exceptions. */
final class ErrorsTest extends TestCase
{
    /** @return iterable<string, array{string, string}> */
    public function badKeys(): iterable
    {
        yield 'malformed' => ['mk_live_nope', 'api_key_malformed'];
        // Well-formed, right checksum shape, unknown id: the server still says only "invalid".
        yield 'unknown' => ['mk_live_3wt5d3jktj9kmw5k_14ytUse7j19AZbdrZM5K8z4HoYjO9KQj_2VqzGX', 'api_key_invalid'];
    }

    /** @dataProvider badKeys */
    public function testABadKeyIsAnAuthenticationException(string $key, string $code): void
    {
        $client = LocalStack::client($key, ['max_retries' => 0]);
        try {
            $client->events()->post('order.created', []);
            self::fail('no exception');
        } catch (AuthenticationException $e) {
            self::assertSame(401, $e->getStatus());
            self::assertSame($code, $e->getErrorCode());
            self::assertSame("urn:mostrador:problem:$code", $e->getType());
            self::assertSame('Unauthorized', $e->getTitle());
            self::assertNotEmpty($e->getDetail());
            self::assertStringContainsString('ApiKey', $e->getHeaders()['www-authenticate'] ?? '');
        }
    }

    public function testAnotherProjectSeesNothingOfThisOne(): void
    {
        $mine = LocalStack::client();
        $event = $mine->events()->post('order.created', ['order_id' => LocalStack::unique('A')]);
        [, $otherKey] = LocalStack::newProject(LocalStack::unique('Other'));
        $other = LocalStack::client($otherKey);

        self::assertNotContains($event['id'], array_column($other->events()->list()->data, 'id'));
        try {
            $other->events()->get($event['id']);
            self::fail('another project read the event');
        } catch (NotFoundException $e) {
            self::assertSame('not_found', $e->getErrorCode());
        }
        self::assertSame($event['id'], $mine->events()->get($event['id'])['id']);
    }
}
