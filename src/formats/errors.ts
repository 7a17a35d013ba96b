/** A model file or directory that cannot be used as it is; the message names the file and the tensor or key. */
export class ModelFormatError extends Error {
  readonly file: string;
  readonly tensor: string | undefined;
  readonly key: string | undefined;

  constructor(file: string, problem: string, where: { tensor?: string; key?: string } = {}) {
    const loc = where.tensor !== undefined ? `tensor "${where.tensor}": ` : where.key !== undefined ? `key "${where.key}": ` : '';
    super(`${file}: ${loc}${problem}`);
    this.name = 'ModelFormatError';
    this.file = file;
    this.tensor = where.tensor;
    this.key = where.key;
  }
}
