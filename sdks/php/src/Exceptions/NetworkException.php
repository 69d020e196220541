<?php

declare(strict_types=1);

namespace Mostrador\Exceptions;

/** No HTTP answer (connection refused, timeout, DNS) after the client's retries. */
class NetworkException extends MostradorException
{
}
