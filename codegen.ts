import { createHash } from 'node:crypto';
import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for the operations in src/client, generated from schema.graphql (never
 * from the server code: the client knows the schema file only). `npm run codegen`.
 *
 * It also writes the trusted-documents manifest, `persisted-documents.json` (hash →
 * document text), of every document the project's own clients send: the typed client,
 * the CLI and the dashboard all take theirs from src/client/operations.ts. Each
 * generated document carries its hash (`__meta__.hash`), which the clients send instead
 * of the text.
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
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: {
          // The bare hex SHA-256 of the document text: what Apollo Client's and urql's
          // `extensions.persistedQuery.sha256Hash` carries (the preset's own 'sha256'
          // prefixes "sha256:", the draft's documentId form, which the server reads too).
          hashAlgorithm: (document: string) => createHash('sha256').update(document, 'utf8').digest('hex'),
        },
      },
      config: {
        scalars: { Timestamp: 'number', ID: 'string' },
        enumsAsTypes: true,
        useTypeImports: true,
        avoidOptionals: { field: true, inputValue: false, object: false, defaultValue: false },
        documentMode: 'documentNodeImportFragments',
      },
    },
  },
  hooks: {},
};

export default config;
