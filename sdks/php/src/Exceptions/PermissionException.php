<?php

declare(strict_types=1);

namespace Mostrador\Exceptions;

/** HTTP 403: a valid key that may not do this (project inactive, feature disabled). */
class PermissionException extends MostradorException
{
}
