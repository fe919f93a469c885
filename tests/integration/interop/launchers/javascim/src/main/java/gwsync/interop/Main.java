package gwsync.interop;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.locks.ReentrantLock;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import de.captaingoldfish.scim.sdk.common.constants.enums.HttpMethod;
import de.captaingoldfish.scim.sdk.common.resources.ServiceProvider;
import de.captaingoldfish.scim.sdk.common.resources.complex.BulkConfig;
import de.captaingoldfish.scim.sdk.common.resources.complex.FilterConfig;
import de.captaingoldfish.scim.sdk.common.resources.complex.PatchConfig;
import de.captaingoldfish.scim.sdk.common.resources.complex.SortConfig;
import de.captaingoldfish.scim.sdk.common.resources.multicomplex.AuthenticationScheme;
import de.captaingoldfish.scim.sdk.common.response.ScimResponse;
import de.captaingoldfish.scim.sdk.server.endpoints.Context;
import de.captaingoldfish.scim.sdk.server.endpoints.ResourceEndpoint;
import de.captaingoldfish.scim.sdk.server.endpoints.authorize.Authorization;
import de.captaingoldfish.scim.sdk.server.endpoints.base.GroupEndpointDefinition;
import de.captaingoldfish.scim.sdk.server.endpoints.base.UserEndpointDefinition;
import de.captaingoldfish.scim.sdk.server.schemas.ResourceType;
import de.captaingoldfish.scim.sdk.server.schemas.custom.ResourceTypeFeatures;


/**
 * gwsync's interop test server: scim-sdk-server's ResourceEndpoint behind the JDK's HTTP server on
 * 127.0.0.1, SCIM 2 at /scim/v2, one bearer token (the first argument), in-memory stores for User (with
 * the enterprise extension) and Group. The library validates every request and response against its
 * schemas, filters and sorts (autoFiltering, autoSorting) and applies PATCH itself.
 *
 * It prints its port once listening. Each "wipe" line on stdin empties both stores and answers "wiped";
 * the end of stdin stops the server.
 */
public final class Main
{

  private static final ReentrantLock WRITES = new ReentrantLock();

  public static void main(String[] args) throws IOException
  {
    String token = args[0];
    // Strict: every setting that relaxes the library's schema checks stays off (their defaults, spelled out).
    ServiceProvider serviceProvider = ServiceProvider.builder()
                                                     .caseInsensitiveValidation(false)
                                                     .lenientContentTypeChecking(false)
                                                     .ignoreRequiredAttributesOnResponse(false)
                                                     .ignoreRequiredExtensionsOnResponse(false)
                                                     .filterConfig(FilterConfig.builder()
                                                                               .supported(true)
                                                                               .maxResults(200)
                                                                               .build())
                                                     .sortConfig(SortConfig.builder().supported(true).build())
                                                     .patchConfig(PatchConfig.builder()
                                                                             .supported(true)
                                                                             .ignoreUnknownAttributes(false)
                                                                             .doNotFailOnNoTarget(false)
                                                                             .build())
                                                     .bulkConfig(BulkConfig.builder()
                                                                           .supported(true)
                                                                           .maxOperations(100)
                                                                           .build())
                                                     .authenticationSchemes(List.of(AuthenticationScheme.builder()
                                                                                                        .name("OAuth Bearer Token")
                                                                                                        .description("A bearer token in the Authorization header")
                                                                                                        .type("oauthbearertoken")
                                                                                                        .build()))
                                                     .build();
    Store.Users users = new Store.Users();
    Store.Groups groups = new Store.Groups();
    ResourceEndpoint endpoint = new ResourceEndpoint(serviceProvider);
    ResourceType userType = endpoint.registerEndpoint(new UserEndpointDefinition(users));
    ResourceType groupType = endpoint.registerEndpoint(new GroupEndpointDefinition(groups));
    for ( ResourceType type : List.of(userType, groupType) )
    {
      type.setFeatures(ResourceTypeFeatures.builder().autoFiltering(true).autoSorting(true).build());
    }

    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 128);
    String base = "http://127.0.0.1:" + server.getAddress().getPort();
    server.createContext("/scim/v2", exchange -> serve(exchange, base, endpoint, token));
    server.setExecutor(Executors.newFixedThreadPool(8));
    server.start();
    System.out.println(server.getAddress().getPort());
    System.out.flush();

    BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for ( String line = stdin.readLine() ; line != null ; line = stdin.readLine() )
    {
      if ("wipe".equals(line.trim()))
      {
        WRITES.lock();
        try
        {
          users.wipe();
          groups.wipe();
        }
        finally
        {
          WRITES.unlock();
        }
        System.out.println("wiped");
        System.out.flush();
      }
    }
    server.stop(0);
    System.exit(0);
  }

  private static void serve(HttpExchange exchange, String base, ResourceEndpoint endpoint, String token)
    throws IOException
  {
    try (exchange)
    {
      String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      Map<String, String> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
      exchange.getRequestHeaders().forEach((name, values) -> headers.put(name, values.get(0)));
      HttpMethod method = HttpMethod.valueOf(exchange.getRequestMethod());
      // Writes one at a time: a PATCH is read, applied and stored in three calls to the handler, and
      // two PATCHes of one group at once would lose a change (a database's row lock prevents that; the
      // library's getResourceForUpdate is its hook). The library runs a Bulk request's operations in order.
      boolean write = method != HttpMethod.GET;
      if (write)
      {
        WRITES.lock();
      }
      ScimResponse response;
      try
      {
        response = endpoint.handleRequest(base + exchange.getRequestURI().toString(),
                                          method,
                                          body,
                                          headers,
                                          new Context(new Bearer(token)));
      }
      finally
      {
        if (write)
        {
          WRITES.unlock();
        }
      }
      response.getHttpHeaders().forEach((name, value) -> exchange.getResponseHeaders().set(name, value));
      int status = response.getHttpStatus();
      byte[] bytes = status == 204 ? new byte[0] : response.toString().getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
      if (bytes.length > 0)
      {
        try (OutputStream out = exchange.getResponseBody())
        {
          out.write(bytes);
        }
      }
    }
  }

  /** The library's authentication hook: one bearer token, nothing else. */
  private record Bearer(String token) implements Authorization
  {

    @Override
    public Set<String> getClientRoles()
    {
      return Set.of();
    }

    @Override
    public boolean authenticate(Map<String, String> httpHeaders, Map<String, String> queryParams)
    {
      return ("Bearer " + token).equals(httpHeaders.get("Authorization"));
    }
  }
}
