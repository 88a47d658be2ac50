import { builder } from './builder.js';
import { ErrorSeverityEnum, EventTypeEnum } from './enums.js';

/**
 * The filter arguments every event-reading field takes (events, eventBatches,
 * eventHistory, recentEvents): one definition, so they cannot drift apart.
 */
export const filterArgs = builder.args((t) => ({
  runnerIds: t.idList({ required: false, description: 'Only these runners; an id no runner has (yet) is allowed and matches nothing until one does.' }),
  symbols: t.stringList({ required: false, description: 'Only runners trading these symbols.' }),
  types: t.field({ type: [EventTypeEnum], required: false, description: 'Only these kinds of event.' }),
  minSeverity: t.field({
    type: ErrorSeverityEnum,
    required: false,
    description: 'Drop RunnerError events below this severity; other kinds are not affected.',
  }),
}));
