<?php

declare(strict_types=1);

namespace Mostrador\Http;

/**
 * One page of a list route: `data` (newest first) and the cursor of the next page.
 *
 * @implements \IteratorAggregate<int, array<string, mixed>>
 */
final class Page implements \IteratorAggregate, \Countable
{
    /**
     * @param list<array<string, mixed>> $data
     * @param (\Closure(string): Page)|null $fetchNext
     */
    public function __construct(
        public readonly array $data,
        public readonly ?string $nextCursor,
        private readonly ?\Closure $fetchNext = null,
    ) {
    }

    /** @param array<string, mixed>|null $body */
    public static function fromBody(?array $body, ?\Closure $fetchNext = null): self
    {
        $data = is_array($body['data'] ?? null) ? array_values($body['data']) : [];
        $cursor = is_string($body['next_cursor'] ?? null) ? $body['next_cursor'] : null;
        return new self($data, $cursor, $fetchNext);
    }

    public function hasMore(): bool
    {
        return $this->nextCursor !== null && $this->fetchNext !== null;
    }

    public function next(): ?self
    {
        return $this->hasMore() ? ($this->fetchNext)($this->nextCursor) : null;
    }

    /**
     * Every item of this page and the ones after it, fetching pages as they are needed.
     *
     * @return \Generator<int, array<string, mixed>>
     */
    public function autoPaging(): \Generator
    {
        for ($page = $this; $page !== null; $page = $page->next()) {
            foreach ($page->data as $item) {
                yield $item;
            }
        }
    }

    public function getIterator(): \ArrayIterator
    {
        return new \ArrayIterator($this->data);
    }

    public function count(): int
    {
        return count($this->data);
    }
}
