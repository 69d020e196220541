<?php

declare(strict_types=1);

namespace Mostrador\Exceptions;

/** HTTP 5xx: Mostrador or a dependency failed; already retried by the client. */
class ServerException extends MostradorException
{
}
