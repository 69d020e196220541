<?php

declare(strict_types=1);

namespace Mostrador\Exceptions;

/** HTTP 409: conflicts with the current state or an earlier Idempotency-Key. */
class ConflictException extends MostradorException
{
}
