/**
 * What `vscode` resolves to outside src/ and test/ (each tsconfig.json maps it here): a module with
 * nothing in it, so any use of the VS Code API there fails to type-check. Only src/ runs in the host.
 */
export {};
