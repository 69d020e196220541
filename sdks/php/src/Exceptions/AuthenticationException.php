<?php

declare(strict_types=1);

namespace Mostrador\Exceptions;

/** HTTP 401: no API key, or a malformed, unknown, revoked or expired one. */
class AuthenticationException extends MostradorException
{
}
