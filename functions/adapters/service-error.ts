/** An AWS service's refusal, shaped as the SDK shapes service errors (name and `$metadata.httpStatusCode`), for adapters that sign their own requests. */
export class ServiceError extends Error {
  readonly $metadata: { readonly httpStatusCode: number };

  constructor(name: string, status: number, message: string) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
  }
}
