<?php

// PHPUnit bootstrap without Composer (Packagist is unreachable where these tests run): a small
// PSR-4 autoloader for this package plus Guzzle's autoloader from Debian's php-guzzlehttp-guzzle.
// With a Composer install (vendor/autoload.php), that is used instead.

declare(strict_types=1);

$vendor = dirname(__DIR__) . '/vendor/autoload.php';
if (is_file($vendor)) {
    require $vendor;
    return;
}

$guzzle = getenv('MOSTRADOR_GUZZLE_AUTOLOAD') ?: '/usr/share/php/GuzzleHttp/autoload.php';
if (!is_file($guzzle)) {
    fwrite(STDERR, "Guzzle not found at $guzzle: apt-get install php-guzzlehttp-guzzle (or composer install)\n");
    exit(1);
}
require_once $guzzle;

spl_autoload_register(static function (string $class): void {
    $roots = ['Mostrador\\Tests\\' => __DIR__ . '/', 'Mostrador\\' => dirname(__DIR__) . '/src/'];
    foreach ($roots as $prefix => $dir) {
        if (str_starts_with($class, $prefix)) {
            $file = $dir . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
            if (is_file($file)) {
                require $file;
            }
            return;
        }
    }
});
