// A Hono app deploys as is: its default export has fetch(request, env, ctx), the shape functions have.
import { Hono } from 'hono';

const app = new Hono();
app.get('/', (c) => c.json({ app: 'hono', routes: ['/', '/users/:id'] }));
app.get('/users/:id', (c) => c.json({ id: c.req.param('id'), query: c.req.query() }));

export default app;
