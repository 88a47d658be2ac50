import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for the operations in src/client, generated from schema.graphql (never
 * from the server code: the client knows the schema file only). `npm run codegen`.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['src/client/operations.ts'],
  ignoreNoDocuments: false,
  // The project is ESM with NodeNext resolution: imports need their .js extension.
  emitLegacyCommonJSImports: false,
  generates: {
    'src/client/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        scalars: { Timestamp: 'number', ID: 'string' },
        enumsAsTypes: true,
        useTypeImports: true,
        avoidOptionals: { field: true, inputValue: false, object: false, defaultValue: false },
        documentMode: 'documentNode',
      },
    },
  },
  hooks: {},
};

export default config;
