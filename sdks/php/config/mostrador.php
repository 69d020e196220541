<?php

// Mostrador SDK settings for Laravel (`php artisan vendor:publish --tag=mostrador-config`).
return [
    // The project's API key (mk_live_…). Keep it in .env, never in the repository.
    'api_key' => env('MOSTRADOR_API_KEY'),

    // The API's base URL: your deployment's domain, or http://127.0.0.1:3100 for `make dev`.
    'api_url' => env('MOSTRADOR_API_URL', 'http://127.0.0.1:3100'),

    // The webhook endpoint's signing secret (whsec_…), for Mostrador\Webhooks\WebhookVerifier.
    'webhook_secret' => env('MOSTRADOR_WEBHOOK_SECRET'),

    // Seconds for one HTTP attempt, and further attempts after a network error, 429 or 5xx.
    'timeout' => env('MOSTRADOR_TIMEOUT', 15),
    'max_retries' => env('MOSTRADOR_MAX_RETRIES', 2),
];
