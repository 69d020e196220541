<?php

declare(strict_types=1);

namespace Mostrador\Exceptions;

/** HTTP 404: no such resource in this project (another project's ids answer the same). */
class NotFoundException extends MostradorException
{
}
