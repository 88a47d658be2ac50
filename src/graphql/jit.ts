/**
 * Execution of a subscription's events, compiled once a document is hot. graphql-js
 * interprets a document anew for every event: it collects fields, builds the execution
 * context, coerces variables and builds every field's arguments and resolve info each
 * time (about 12 KB of garbage for one tick with every field; the collections that follow
 * are what held the light-load p99 up). graphql-jit compiles the document into a function
 * that does only what the selection needs (about 3.5 KB and a quarter of the time, measured
 * with `npm run bench`'s tick selection). A document is compiled after it has run
 * {@link COMPILE_AFTER} events, as mercurius does, so that a client sending many distinct
 * documents that each run once costs no compilation, and anything graphql-jit cannot
 * compile keeps running on graphql-js, as does an event whose compiled execution has
 * errors (see {@link EventExecutor.execute}).
 */
import { performance } from 'node:perf_hooks';
import { execute, print, type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { CompiledQuery } from 'graphql-jit';

/** Events of one document (and operation) executed by graphql-js before it is compiled. */
export const COMPILE_AFTER = 32;

/**
 * Longest document (in characters of its text) that is compiled. Compiling costs the main
 * thread about 2.5 ms for a dashboard's subscription of 230 characters and about 110 ms for
 * 2,900 characters of aliased union selections (graphql-jit generates code for every
 * member of a union in every place it is selected): a longer one keeps running on
 * graphql-js, so that one client's document cannot hold every other client up for long.
 */
export const MAX_COMPILED_CHARS = 1500;

/** Main-thread time all compilations together may take per window; a document over it waits for the next window. */
export const COMPILE_BUDGET_MS = 50;

/** The window of {@link COMPILE_BUDGET_MS}. */
export const COMPILE_WINDOW_MS = 5000;

type Jit = typeof import('graphql-jit');
let jit: Jit | null | undefined;
let loading: Promise<void> | undefined;

/**
 * graphql-jit, loaded when the first document gets hot (undefined until then, null when it
 * cannot be loaded): loading it takes 55-70 ms of the main thread, which start-up does
 * not have to pay for a server nobody subscribes to.
 */
export function loadCompiler(): Promise<void> {
  loading ??= import('graphql-jit').then(
    (module) => {
      jit = module;
    },
    () => {
      jit = null;
    },
  );
  return loading;
}

/** How an {@link EventExecutor} compiles: the defaults are the constants above. */
export interface CompileOptions {
  readonly after?: number;
  readonly maxChars?: number;
  readonly budgetMs?: number;
  readonly windowMs?: number;
}

/** One document's operation: how often it ran, and its compiled form once there is one. */
interface Plan {
  runs: number;
  /** The document's length has been checked against the cap (it is not measured again while compiling waits for graphql-jit or the budget). */
  sized: boolean;
  /** Undefined until compiled; null when it will not be compiled. */
  compiled: CompiledQuery | null | undefined;
}

/** Executes subscription events, each document compiled once it is hot (see the module's comment). */
export class EventExecutor {
  /** Documents compiled, and those that could not be (too long, or graphql-jit refused). */
  readonly stats = { compiled: 0, failed: 0 };
  // Weak on both: a schema or a document nobody uses any more takes its plans with it.
  private readonly plans = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string, Plan>>>();
  private windowStart = Number.NEGATIVE_INFINITY;
  private spentMs = 0;
  private readonly after: number;
  private readonly maxChars: number;
  private readonly budgetMs: number;
  private readonly windowMs: number;

  constructor(options: CompileOptions = {}) {
    this.after = options.after ?? COMPILE_AFTER;
    this.maxChars = options.maxChars ?? MAX_COMPILED_CHARS;
    this.budgetMs = options.budgetMs ?? COMPILE_BUDGET_MS;
    this.windowMs = options.windowMs ?? COMPILE_WINDOW_MS;
  }

  /**
   * Executes one event of a subscription (`args.rootValue` is the event): what graphql-js's
   * `execute` returns, from the compiled document once it is hot.
   */
  execute(args: ExecutionArgs): ExecutionResult | Promise<ExecutionResult> {
    const plan = this.planOf(args);
    if (plan.compiled === undefined && ++plan.runs > this.after) plan.compiled = this.compile(args, plan);
    if (!plan.compiled) return execute(args);
    const result = plan.compiled.query(args.rootValue, args.contextValue, args.variableValues ?? {}) as ExecutionResult | Promise<ExecutionResult>;
    // graphql-jit words some errors differently and leaves out the original error that
    // masking looks at (a null in a non-null field would reach the client unmasked). Errors
    // are rare (an event the schema cannot represent), and resolvers of an event are pure,
    // so such an event is executed again by graphql-js: what is sent is exactly its answer.
    const checked = (done: ExecutionResult): ExecutionResult | Promise<ExecutionResult> => (done.errors !== undefined && done.errors.length > 0 ? execute(args) : done);
    return result instanceof Promise ? result.then(checked) : checked(result);
  }

  private planOf(args: ExecutionArgs): Plan {
    let bySchema = this.plans.get(args.schema);
    if (bySchema === undefined) this.plans.set(args.schema, (bySchema = new WeakMap()));
    let byOperation = bySchema.get(args.document);
    if (byOperation === undefined) bySchema.set(args.document, (byOperation = new Map()));
    const operation = args.operationName ?? '';
    let plan = byOperation.get(operation);
    if (plan === undefined) byOperation.set(operation, (plan = { runs: 0, sized: false, compiled: undefined }));
    return plan;
  }

  /** The compiled form, null when it will never be compiled, undefined to try again later (over budget). */
  private compile(args: ExecutionArgs, plan: Plan): CompiledQuery | null | undefined {
    if (!plan.sized) {
      // A document parsed without locations is measured by its printed text.
      const length = args.document.loc?.end ?? print(args.document).length;
      if (length > this.maxChars) return this.refused();
      plan.sized = true;
    }
    if (jit === undefined) {
      // Not loaded yet: try again on a later event.
      void loadCompiler();
      return undefined;
    }
    if (jit === null) return this.refused();
    const started = performance.now();
    if (started - this.windowStart >= this.windowMs) {
      this.windowStart = started;
      this.spentMs = 0;
    }
    if (this.spentMs >= this.budgetMs) return undefined;
    let compiled: CompiledQuery | ExecutionResult | null = null;
    try {
      compiled = jit.compileQuery(args.schema, args.document, args.operationName ?? undefined) as CompiledQuery | ExecutionResult;
    } catch {
      // graphql-js runs it, as before.
    }
    this.spentMs += performance.now() - started;
    if (compiled === null || !jit.isCompiledQuery(compiled)) return this.refused();
    this.stats.compiled++;
    return compiled;
  }

  private refused(): null {
    this.stats.failed++;
    return null;
  }
}

/** The server's executor of subscription events. */
export const eventExecutor = new EventExecutor();
