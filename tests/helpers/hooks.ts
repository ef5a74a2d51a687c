// uvu swallows an error thrown by a before hook (the suite just reports fewer passes); this prints it first.
export function loud<T extends unknown[]>(fn: (...args: T) => Promise<void> | void): (...args: T) => Promise<void> {
  return async (...args: T) => {
    try {
      await fn(...args);
    } catch (err) {
      console.error('hook failed:', err);
      throw err;
    }
  };
}
