// Lint for every JS and TS file of the repository (npm run lint). Formatting is Prettier's job
// (npm run format:check), so eslint-config-prettier turns off the rules that would disagree with it.
// TypeScript gets the type-aware rules that catch what matters in an event-driven network library:
// promises left floating or passed where a callback's result is ignored, awaits of non-promises.
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "**/node_modules/**",
      "**/dist/**",
      "**/build/**",
      "**/build-san/**",
      "**/build-fuzz/**",
      "docs/api/**",
      "reports/**",
      "coverage/**",
      "impl-native/addons/**",
    ],
  },
  js.configs.recommended,
  {
    files: ["**/*.{js,mjs,cjs}"],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      "no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true }],
    },
  },
  {
    files: ["**/*.{ts,mts,cts}"],
    extends: [tseslint.configs.recommended],
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: { allowDefaultProject: ["vitest.config.ts"] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: false }],
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/no-unnecessary-type-assertion": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true },
      ],
    },
  },
  {
    // A variable a closure reads before its one assignment (a timer armed after its handler) stays `let`.
    rules: { "prefer-const": ["error", { ignoreReadBeforeAssign: true }] },
  },
  {
    // The CommonJS entry that hands `require("qwormhole")` the ES module.
    files: ["**/*.cts"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    // Tests build hostile and partial values on purpose.
    files: ["**/test/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  prettier,
);
