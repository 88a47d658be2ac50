/** The repository's root. */
export declare const ROOT: string;
/** Written last by a build that succeeded: its time is the build's. */
export declare const STAMP: string;
/** True when there is no build, or a source changed after it. */
export declare function buildIsStale(): boolean;
/** Builds dist/ (tsc) and dist/dashboard (Vite); resolves to the exit code. */
export declare function build(): Promise<number>;
