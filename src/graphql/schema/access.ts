import { builder } from './builder.js';
import type { Principal } from './principal.js';

const RoleEnum = builder.enumType('Role', {
  description: 'What a token may do.',
  values: {
    VIEWER: { value: 'viewer', description: 'Watch and query.' },
    OPERATOR: { value: 'operator', description: 'Also start and stop runners.' },
  } as const,
});

const AccessRef = builder.objectRef<Principal>('Access').implement({
  description: 'Who is asking: the token of this request and what it allows.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The token\'s name from the tokens file ("open" on a server without tokens).' }),
    role: t.field({ type: RoleEnum, description: 'Its role.', resolve: (p) => p.role }),
    runners: t.exposeStringList('runners', { description: 'Glob patterns of the runner ids it may see and, as an operator, manage.' }),
  }),
});

builder.queryField('me', (t) =>
  t.field({
    type: AccessRef,
    description: 'The token of this request and what it allows; a page uses it to offer only what will work.',
    resolve: (_root, _args, ctx) => ctx.principal,
  }),
);
