<?php

declare(strict_types=1);

namespace Mostrador\Tests\Unit;

use Mostrador\Exceptions\WebhookVerificationException;
use Mostrador\Webhooks\WebhookVerifier;
use PHPUnit\Framework\TestCase;

/**
 * Against vectors signed by the reference Python library (MOSTRADOR_WEBHOOK_VECTORS, fresh on
 * every scripts/test-sdk.sh run; else the committed copy), and the other way round: what this
 * verifier signs, the Python library accepts (MOSTRADOR_PYTHON).
 */
final class WebhookVerifierTest extends TestCase
{
    /** @return array{generated_at: int, secret: string, previous_secret: string, cases: list<array<string, mixed>>} */
    private static function vectors(): array
    {
        $file = getenv('MOSTRADOR_WEBHOOK_VECTORS') ?: __DIR__ . '/../fixtures/standardwebhooks-vectors.json';
        $vectors = json_decode((string) file_get_contents($file), true, 512, JSON_THROW_ON_ERROR);
        self::assertGreaterThanOrEqual(4, count($vectors['cases']));
        return $vectors;
    }

    /** @return array<string, string> */
    private static function headers(array $case, string $signature): array
    {
        return ['webhook-id' => $case['id'], 'webhook-timestamp' => (string) $case['timestamp'], 'webhook-signature' => $signature];
    }

    public function testSignsExactlyLikeTheReferenceLibrary(): void
    {
        $v = self::vectors();
        $verifier = new WebhookVerifier($v['secret']);
        foreach ($v['cases'] as $case) {
            self::assertSame($case['signature'], $verifier->sign($case['id'], $case['timestamp'], $case['payload']));
        }
    }

    public function testAcceptsReferenceSignaturesAndReturnsThePayload(): void
    {
        $v = self::vectors();
        $verifier = new WebhookVerifier($v['secret']);
        foreach ($v['cases'] as $case) {
            $event = $verifier->verify($case['payload'], self::headers($case, $case['signature']), $case['timestamp'] + 10);
            self::assertSame(json_decode($case['payload'], true), $event);
        }
    }

    public function testAnyOfSeveralSignaturesDuringRotationWorksForEitherSecret(): void
    {
        $v = self::vectors();
        foreach ([$v['secret'], $v['previous_secret']] as $secret) {
            $verifier = new WebhookVerifier($secret);
            foreach ($v['cases'] as $case) {
                $verifier->verifySignature($case['payload'], self::headers($case, $case['rotation_signature']), $case['timestamp']);
            }
        }
        $this->addToAssertionCount(2 * count($v['cases']));
    }

    public function testAcceptsServerAndPsr7HeaderShapes(): void
    {
        $case = self::vectors()['cases'][0];
        $verifier = new WebhookVerifier(self::vectors()['secret']);
        $server = ['HTTP_WEBHOOK_ID' => $case['id'], 'HTTP_WEBHOOK_TIMESTAMP' => (string) $case['timestamp'], 'HTTP_WEBHOOK_SIGNATURE' => $case['signature']];
        $psr7 = ['Webhook-Id' => [$case['id']], 'Webhook-Timestamp' => [(string) $case['timestamp']], 'Webhook-Signature' => [$case['signature']]];
        self::assertSame('order.created', $verifier->verify($case['payload'], $server, $case['timestamp'])['type']);
        self::assertSame('order.created', $verifier->verify($case['payload'], $psr7, $case['timestamp'])['type']);
    }

    /** @return iterable<string, array{callable(array): array{string, array<string, string>, int}, string}> */
    public function tampered(): iterable
    {
        yield 'payload changed' => [fn ($c) => [$c['payload'] . ' ', self::headers($c, $c['signature']), $c['timestamp']], 'no matching signature'];
        yield 're-encoded JSON' => [fn ($c) => [json_encode(json_decode($c["payload"]), JSON_PRETTY_PRINT), self::headers($c, $c['signature']), $c['timestamp']], 'no matching signature'];
        yield 'other id' => [fn ($c) => [$c['payload'], ['webhook-id' => 'evt_other'] + self::headers($c, $c['signature']), $c['timestamp']], 'no matching signature'];
        yield 'timestamp 301 s old' => [fn ($c) => [$c['payload'], self::headers($c, $c['signature']), $c['timestamp'] + 301], 'too old'];
        yield 'timestamp 301 s ahead' => [fn ($c) => [$c['payload'], self::headers($c, $c['signature']), $c['timestamp'] - 301], 'future'];
        yield 'unknown version only' => [fn ($c) => [$c['payload'], self::headers($c, 'v1a,' . substr($c['signature'], 3)), $c['timestamp']], 'no matching signature'];
        yield 'signature missing' => [fn ($c) => [$c['payload'], ['webhook-id' => $c['id'], 'webhook-timestamp' => (string) $c['timestamp']], $c['timestamp']], 'missing'];
        yield 'timestamp not a number' => [fn ($c) => [$c['payload'], ['webhook-timestamp' => '1e9'] + self::headers($c, $c['signature']), $c['timestamp']], 'Unix time'];
        yield 'empty signature list' => [fn ($c) => [$c['payload'], self::headers($c, 'v1,'), $c['timestamp']], 'no matching signature'];
    }

    /** @dataProvider tampered */
    public function testRefuses(callable $make, string $why): void
    {
        $v = self::vectors();
        [$payload, $headers, $now] = $make($v['cases'][0]);
        $this->expectException(WebhookVerificationException::class);
        $this->expectExceptionMessage($why);
        (new WebhookVerifier($v['secret']))->verify($payload, $headers, $now);
    }

    public function testRefusesTheWrongSecret(): void
    {
        $v = self::vectors();
        $case = $v['cases'][1];
        $this->expectException(WebhookVerificationException::class);
        (new WebhookVerifier($v['previous_secret']))->verify($case['payload'], self::headers($case, $case['signature']), $case['timestamp']);
    }

    public function testChecksTheClockByDefault(): void
    {
        $verifier = new WebhookVerifier('whsec_' . base64_encode(random_bytes(24)));
        $payload = '{"type":"order.paid","data":{}}';
        $fresh = time();
        $verifier->verify($payload, ['webhook-id' => 'm1', 'webhook-timestamp' => (string) $fresh, 'webhook-signature' => $verifier->sign('m1', $fresh, $payload)]);
        $this->expectExceptionMessage('too old');
        $old = time() - 3600;
        $verifier->verify($payload, ['webhook-id' => 'm1', 'webhook-timestamp' => (string) $old, 'webhook-signature' => $verifier->sign('m1', $old, $payload)]);
    }

    public function testRefusesASecretThatIsNotBase64(): void
    {
        $this->expectException(\InvalidArgumentException::class);
        new WebhookVerifier('whsec_not base64!');
    }

    public function testThePythonLibraryAcceptsWhatThisSigns(): void
    {
        $python = getenv('MOSTRADOR_PYTHON');
        if (!$python) {
            self::markTestSkipped('MOSTRADOR_PYTHON (a Python with standardwebhooks) not set; scripts/test-sdk.sh sets it');
        }
        $secret = 'whsec_' . base64_encode(random_bytes(32));
        $payload = '{"type":"order.created","data":{"nombre":"Ñandú","n":1}}';
        $now = time();
        $signature = (new WebhookVerifier($secret))->sign('evt_php', $now, $payload);
        $script = 'import os,sys; from standardwebhooks.webhooks import Webhook; '
            . 'h={"webhook-id":"evt_php","webhook-timestamp":os.environ["TS"],"webhook-signature":os.environ["SIG"]}; '
            . 'print(Webhook(os.environ["SECRET"]).verify(sys.stdin.read(), h)["data"]["nombre"])';
        $verdict = self::runPython($python, $script, $payload, ['TS' => (string) $now, 'SIG' => $signature, 'SECRET' => $secret]);
        self::assertSame('Ñandú', $verdict);
        $forged = self::runPython($python, $script, str_replace('1', '2', $payload), ['TS' => (string) $now, 'SIG' => $signature, 'SECRET' => $secret]);
        self::assertNotSame('Ñandú', $forged);
    }

    /** @param array<string, string> $env */
    private static function runPython(string $python, string $script, string $stdin, array $env): string
    {
        $process = proc_open([$python, '-c', $script], [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env + ['PATH' => (string) getenv('PATH')]);
        self::assertIsResource($process);
        fwrite($pipes[0], $stdin);
        fclose($pipes[0]);
        $out = trim((string) stream_get_contents($pipes[1]));
        stream_get_contents($pipes[2]);
        proc_close($process);
        return $out;
    }
}
