import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed operations from the hub's schema. The output (src/gql/) is committed.
const config: CodegenConfig = {
  schema: '../schema.graphqls',
  documents: ['src/**/*.{ts,tsx}', '!src/gql/**/*'],
  ignoreNoDocuments: false,
  generates: {
    './src/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { Time: 'string' },
        skipTypename: false,
      },
    },
  },
  hooks: {},
};

export default config;
