<?php

declare(strict_types=1);

namespace Mostrador\Exceptions;

/** A webhook whose headers are missing, whose timestamp is out of tolerance or whose signature does not match. */
class WebhookVerificationException extends MostradorException
{
}
