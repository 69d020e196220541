<?php

declare(strict_types=1);

namespace Mostrador\Exceptions;

/** HTTP 400, 413, 415 and other 4xx: a malformed request. */
class BadRequestException extends MostradorException
{
}
