import assert from 'node:assert/strict';

import {
    errorMessage,
    httpStatus,
    isConflict,
    isNotFound,
    isTerminal,
    parseRetryAfter,
    RetryAfterError,
    retryAfterMs,
    TerminalError,
} from '../../../src/runtime/errors.ts';

describe('runtime errors', () => {
    it('reads the HTTP status from every shape client-node produces', () => {
        assert.equal(httpStatus({ code: 404 }), 404, 'ApiException');
        assert.equal(httpStatus({ statusCode: 410 }), 410, 'watch error');
        assert.equal(httpStatus({ response: { statusCode: 503 } }), 503, 'response-wrapped');
        assert.equal(httpStatus(Object.assign(new Error('reset'), { code: 'ECONNRESET' })), undefined);
        assert.equal(httpStatus(undefined), undefined);
        assert.equal(httpStatus('409'), undefined);
        assert.equal(isNotFound({ code: 404 }), true);
        assert.equal(isConflict({ statusCode: 409 }), true);
        assert.equal(isConflict({ code: 404 }), false);
    });

    it('classifies API errors: 400/403/422 and TerminalError are terminal; 404, 409, 429, 5xx and network errors are retried', () => {
        for (const code of [400, 403, 422]) assert.equal(isTerminal({ code }), true, String(code));
        for (const code of [404, 409, 429, 500, 503]) assert.equal(isTerminal({ code }), false, String(code));
        assert.equal(isTerminal(new Error('ECONNRESET')), false);
        assert.equal(isTerminal(new TerminalError('bad spec')), true);
    });

    it('prefers the Status message of the body, parsed or as a JSON string, over the exception text', () => {
        assert.equal(
            errorMessage({ body: { message: 'forbidden' }, message: 'HTTP-Code: 403' }),
            'forbidden',
        );
        assert.equal(errorMessage({ body: '{"message":"denied"}', message: 'x' }), 'denied');
        assert.equal(errorMessage({ body: 'not json', message: 'plain' }), 'plain');
        assert.equal(errorMessage(new Error('boom')), 'boom');
        assert.equal(errorMessage('text'), 'text');
    });

    it('reads Retry-After as delay-seconds or an HTTP date, and from an ApiException header of any case', () => {
        const now = Date.parse('2026-01-01T00:00:00Z');
        assert.equal(parseRetryAfter('3', now), 3000);
        assert.equal(parseRetryAfter(' 0 ', now), 0);
        assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now), 10_000);
        assert.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now), 0, 'a date in the past: now');
        assert.equal(parseRetryAfter('soon', now), undefined);
        assert.equal(parseRetryAfter(undefined, now), undefined);
        assert.equal(retryAfterMs({ code: 429, headers: { 'retry-after': '1' } }, now), 1000);
        assert.equal(retryAfterMs({ code: 429, headers: { 'Retry-After': '2' } }, now), 2000);
        assert.equal(retryAfterMs({ code: 500, headers: {} }, now), undefined);
        assert.equal(retryAfterMs(new Error('x'), now), undefined);
        assert.equal(retryAfterMs(new RetryAfterError('busy', 750), now), 750);
        assert.equal(new RetryAfterError('negative', -5).retryAfterMs, 0);
    });
});
