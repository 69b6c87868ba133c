/**
 * Preloaded into the operator (`node --import`) only when the bench profiles it (--cpu-prof). V8 writes the CPU
 * profile at a normal process exit, but the operator's process has been seen to stay alive after logging
 * "stopped" until the harness SIGKILLs it, which loses the profile. After SIGTERM this gives the operator's own
 * shutdown a grace period, logs which handles still keep the event loop alive (evidence for the hang), then exits.
 */
process.on('SIGTERM', () => {
    setTimeout(() => {
        console.error(
            JSON.stringify({
                component: 'bench-preload',
                message: 'still alive 10 s after SIGTERM; forcing exit',
                activeResources: process.getActiveResourcesInfo(),
            }),
        );
        process.exit(process.exitCode ?? 0);
    }, 10_000).unref();
});
